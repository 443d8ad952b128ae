//! The hub: who is connected right now, and a bounded outbox per socket.
//!
//! One person may have many sockets (tabs). Every socket registers here and
//! gets an [`Outbox`]: a bounded queue of serialized frames plus a kick
//! signal. A frame is serialized once and shared (`Arc<str>`) by every socket
//! it goes to. When a socket's queue is full its consumer cannot keep up: it
//! is kicked (closed with [`CLOSE_TOO_SLOW`]) and dropped from the hub
//! instead of buffering without bound; its client repairs the gap with
//! `after_seq` when it reconnects. One person holds at most
//! [`protocol::chat::MAX_SOCKETS_PER_PERSON`] sockets: the check and the
//! registration happen under the hub's lock, and the one over is refused
//! (closed with `CLOSE_TOO_MANY_SOCKETS`) without touching the others.
//!
//! The hub lives in one process. Several Kefu processes behind a load
//! balancer would need a shared bus (e.g. PostgreSQL LISTEN/NOTIFY); that is
//! not built.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use protocol::chat::{ServerFrame, CLOSE_TOO_SLOW, MAX_SOCKETS_PER_PERSON};
use tokio::sync::{mpsc, watch};

use crate::Role;

/// Frames a socket may have queued before it counts as too slow.
pub const OUTBOX_FRAMES: usize = 256;

pub type ConnId = u64;

/// Who is on the other end of a socket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Peer {
    Staff(i64),
    Player(String),
}

/// What a socket task reads: frames to write, and a close code when the hub
/// wants the socket closed (kicked, revoked, too slow).
pub struct Outbox {
    pub id: ConnId,
    pub frames: mpsc::Receiver<Arc<str>>,
    pub kicked: watch::Receiver<Option<u16>>,
}

struct Conn {
    id: ConnId,
    tx: mpsc::Sender<Arc<str>>,
    kick: watch::Sender<Option<u16>>,
    jti: Option<String>,
}

struct StaffEntry {
    username: String,
    role: Role,
    conns: Vec<Conn>,
}

#[derive(Default)]
struct Registry {
    staff: HashMap<i64, StaffEntry>,
    players: HashMap<String, Vec<Conn>>,
}

/// How many people and sockets are connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HubCounts {
    pub staff: u32,
    pub staff_sockets: u32,
    pub players: u32,
    pub player_sockets: u32,
}

/// A staff member who has at least one socket open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnlineMember {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub sockets: usize,
}

#[derive(Default)]
pub struct Hub {
    next_id: AtomicU64,
    registry: Mutex<Registry>,
    session_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Sockets kicked because their outbox was full.
    pub slow_kicks: AtomicU64,
}

/// Which staff sockets a frame goes to.
pub enum StaffAudience<'a> {
    /// Every connected staff member.
    All,
    /// This staff member, plus every admin and super admin (who may watch).
    AgentAndAdmins(Option<i64>),
    /// Exactly these staff members.
    Only(&'a [i64]),
}

impl Hub {
    pub fn new() -> Self {
        Hub::default()
    }

    /// Registers a socket; answers its outbox and whether it is the
    /// person's first open socket, or `None` when the person holds
    /// [`MAX_SOCKETS_PER_PERSON`] already (nothing registered).
    pub fn register_staff(
        &self,
        id: i64,
        username: &str,
        role: Role,
        jti: Option<String>,
    ) -> Option<(Outbox, bool)> {
        let mut reg = self.registry.lock().expect("hub lock");
        let entry = reg.staff.entry(id).or_insert_with(|| StaffEntry {
            username: username.to_owned(),
            role,
            conns: Vec::new(),
        });
        if entry.conns.len() >= MAX_SOCKETS_PER_PERSON {
            return None;
        }
        entry.role = role;
        let first = entry.conns.is_empty();
        let (conn, outbox) = self.new_conn(jti);
        entry.conns.push(conn);
        Some((outbox, first))
    }

    /// Registers a player's socket, or answers `None` when the player holds
    /// [`MAX_SOCKETS_PER_PERSON`] already (nothing registered).
    pub fn register_player(&self, account: &str) -> Option<Outbox> {
        let mut reg = self.registry.lock().expect("hub lock");
        let conns = reg.players.entry(account.to_owned()).or_default();
        if conns.len() >= MAX_SOCKETS_PER_PERSON {
            return None;
        }
        let (conn, outbox) = self.new_conn(None);
        conns.push(conn);
        Some(outbox)
    }

    fn new_conn(&self, jti: Option<String>) -> (Conn, Outbox) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, frames) = mpsc::channel(OUTBOX_FRAMES);
        let (kick, kicked) = watch::channel(None);
        (Conn { id, tx, kick, jti }, Outbox { id, frames, kicked })
    }

    /// Removes a socket; answers whether the person has no socket left.
    pub fn unregister(&self, peer: &Peer, conn: ConnId) -> bool {
        let mut reg = self.registry.lock().expect("hub lock");
        match peer {
            Peer::Staff(id) => {
                let Some(entry) = reg.staff.get_mut(id) else {
                    return true;
                };
                entry.conns.retain(|c| c.id != conn);
                if entry.conns.is_empty() {
                    reg.staff.remove(id);
                    true
                } else {
                    false
                }
            }
            Peer::Player(account) => {
                let Some(conns) = reg.players.get_mut(account) else {
                    return true;
                };
                conns.retain(|c| c.id != conn);
                if conns.is_empty() {
                    reg.players.remove(account);
                    true
                } else {
                    false
                }
            }
        }
    }

    pub fn is_staff_online(&self, id: i64) -> bool {
        self.registry
            .lock()
            .expect("hub lock")
            .staff
            .contains_key(&id)
    }

    pub fn online_staff(&self) -> Vec<OnlineMember> {
        let reg = self.registry.lock().expect("hub lock");
        let mut all: Vec<_> = reg
            .staff
            .iter()
            .map(|(id, e)| OnlineMember {
                id: *id,
                username: e.username.clone(),
                role: e.role,
                sockets: e.conns.len(),
            })
            .collect();
        all.sort_by_key(|m| m.id);
        all
    }

    /// Open sockets in total (staff and players).
    pub fn socket_count(&self) -> usize {
        let c = self.counts();
        c.staff_sockets as usize + c.player_sockets as usize
    }

    /// People and sockets connected right now.
    pub fn counts(&self) -> HubCounts {
        let reg = self.registry.lock().expect("hub lock");
        let n = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        HubCounts {
            staff: n(reg.staff.len()),
            staff_sockets: n(reg.staff.values().map(|e| e.conns.len()).sum()),
            players: n(reg.players.len()),
            player_sockets: n(reg.players.values().map(Vec::len).sum()),
        }
    }

    /// Serializes a frame once for many sockets.
    pub fn encode(frame: &ServerFrame) -> Arc<str> {
        Arc::from(serde_json::to_string(frame).expect("frames serialize"))
    }

    /// Sends to every socket of a player, except `except`.
    pub fn to_player(&self, account: &str, frame: &Arc<str>, except: Option<ConnId>) {
        let mut reg = self.registry.lock().expect("hub lock");
        if let Some(conns) = reg.players.get_mut(account) {
            self.push_all(conns, frame, except);
            if conns.is_empty() {
                reg.players.remove(account);
            }
        }
    }

    /// Sends to the staff sockets of `audience`, except `except`.
    pub fn to_staff(&self, audience: StaffAudience<'_>, frame: &Arc<str>, except: Option<ConnId>) {
        let mut reg = self.registry.lock().expect("hub lock");
        let mut emptied = Vec::new();
        for (id, entry) in reg.staff.iter_mut() {
            let wanted = match &audience {
                StaffAudience::All => true,
                StaffAudience::AgentAndAdmins(agent) => {
                    entry.role.is_admin() || Some(*id) == *agent
                }
                StaffAudience::Only(ids) => ids.contains(id),
            };
            if wanted {
                self.push_all(&mut entry.conns, frame, except);
                if entry.conns.is_empty() {
                    emptied.push(*id);
                }
            }
        }
        for id in emptied {
            reg.staff.remove(&id);
        }
    }

    /// Sends to one socket.
    pub fn to_conn(&self, peer: &Peer, conn: ConnId, frame: &Arc<str>) {
        let mut reg = self.registry.lock().expect("hub lock");
        let conns = match peer {
            Peer::Staff(id) => reg.staff.get_mut(id).map(|e| &mut e.conns),
            Peer::Player(account) => reg.players.get_mut(account),
        };
        if let Some(conns) = conns {
            if let Some(pos) = conns.iter().position(|c| c.id == conn) {
                if !self.push(&mut conns[pos], frame) {
                    conns.remove(pos);
                }
            }
        }
    }

    fn push_all(&self, conns: &mut Vec<Conn>, frame: &Arc<str>, except: Option<ConnId>) {
        conns.retain_mut(|c| Some(c.id) == except || self.push(c, frame));
    }

    /// Queues a frame; false (and the socket is kicked) if it cannot be.
    fn push(&self, conn: &mut Conn, frame: &Arc<str>) -> bool {
        match conn.tx.try_send(frame.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.slow_kicks.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    conn = conn.id,
                    "socket outbox full; disconnecting a slow consumer"
                );
                let _ = conn.kick.send(Some(CLOSE_TOO_SLOW));
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Closes every socket of a staff member with `code` (their tokens
    /// died). The socket tasks unregister themselves as they end.
    pub fn kick_staff(&self, id: i64, code: u16) {
        let reg = self.registry.lock().expect("hub lock");
        if let Some(entry) = reg.staff.get(&id) {
            for c in &entry.conns {
                let _ = c.kick.send(Some(code));
            }
        }
    }

    /// Closes every socket of a player with `code` (the player is gone).
    pub fn kick_player(&self, account: &str, code: u16) {
        let reg = self.registry.lock().expect("hub lock");
        for c in reg.players.get(account).into_iter().flatten() {
            let _ = c.kick.send(Some(code));
        }
    }

    /// Closes the sockets opened with one token (logout).
    pub fn kick_token(&self, jti: &str, code: u16) {
        let reg = self.registry.lock().expect("hub lock");
        for entry in reg.staff.values() {
            for c in entry.conns.iter().filter(|c| c.jti.as_deref() == Some(jti)) {
                let _ = c.kick.send(Some(code));
            }
        }
    }

    /// Closes every socket (shutdown).
    pub fn kick_everyone(&self, code: u16) {
        let reg = self.registry.lock().expect("hub lock");
        let staff = reg.staff.values().flat_map(|e| e.conns.iter());
        for c in staff.chain(reg.players.values().flatten()) {
            let _ = c.kick.send(Some(code));
        }
    }

    /// The lock that keeps one session's state changes (accept, transfer,
    /// end, clear) and their notices from interleaving.
    pub fn session_lock(&self, session_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.session_locks.lock().expect("hub lock");
        if locks.len() > 4096 {
            // Drop the locks nobody holds or waits for.
            locks.retain(|_, l| Arc::strong_count(l) > 1);
        }
        locks.entry(session_id.to_owned()).or_default().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::chat::Empty;

    #[tokio::test]
    async fn a_slow_consumer_is_kicked_not_buffered() {
        let hub = Hub::new();
        let (mut slow, _) = hub.register_staff(1, "a", Role::Agent, None).unwrap();
        let (mut fast, _) = hub.register_staff(2, "b", Role::Agent, None).unwrap();
        let frame = Hub::encode(&ServerFrame::Pong(Empty {}));
        for _ in 0..OUTBOX_FRAMES {
            hub.to_staff(StaffAudience::All, &frame, None);
            fast.frames.recv().await.unwrap();
        }
        assert_eq!(*slow.kicked.borrow(), None);
        hub.to_staff(StaffAudience::All, &frame, None);
        assert_eq!(*slow.kicked.borrow_and_update(), Some(CLOSE_TOO_SLOW));
        assert!(!hub.is_staff_online(1));
        assert!(hub.is_staff_online(2));
        assert_eq!(hub.slow_kicks.load(Ordering::Relaxed), 1);
        // What was queued stays bounded.
        let mut queued = 0;
        while slow.frames.try_recv().is_ok() {
            queued += 1;
        }
        assert_eq!(queued, OUTBOX_FRAMES);
    }

    #[test]
    fn presence_counts_sockets_per_person() {
        let hub = Hub::new();
        let (a, first) = hub
            .register_staff(1, "a", Role::Agent, Some("t1".into()))
            .unwrap();
        assert!(first);
        let (b, first) = hub
            .register_staff(1, "a", Role::Agent, Some("t2".into()))
            .unwrap();
        assert!(!first);
        assert!(!hub.unregister(&Peer::Staff(1), a.id));
        assert!(hub.is_staff_online(1));
        hub.kick_token("t2", 4001);
        assert_eq!(*b.kicked.borrow(), Some(4001));
        assert!(hub.unregister(&Peer::Staff(1), b.id));
        assert!(!hub.is_staff_online(1));
    }

    #[test]
    fn one_person_holds_at_most_the_cap_of_sockets() {
        let hub = Hub::new();
        let staff: Vec<Outbox> = (0..MAX_SOCKETS_PER_PERSON)
            .map(|_| hub.register_staff(1, "a", Role::Agent, None).unwrap().0)
            .collect();
        assert!(hub.register_staff(1, "a", Role::Agent, None).is_none());
        let players: Vec<Outbox> = (0..MAX_SOCKETS_PER_PERSON)
            .map(|_| hub.register_player("p").unwrap())
            .collect();
        assert!(hub.register_player("p").is_none());
        // Nothing was registered for the refused ones, and others are free.
        assert_eq!(hub.socket_count(), 2 * MAX_SOCKETS_PER_PERSON);
        assert!(hub.register_staff(2, "b", Role::Agent, None).is_some());
        assert!(hub.register_player("q").is_some());
        // Closing one makes room for one.
        hub.unregister(&Peer::Staff(1), staff[0].id);
        hub.unregister(&Peer::Player("p".into()), players[0].id);
        assert!(hub.register_staff(1, "a", Role::Agent, None).is_some());
        assert!(hub.register_player("p").is_some());
        assert!(hub.register_player("p").is_none());
    }
}
