// A stand-in for the browser service (seed 000 §6), a program outside Kefu:
// the end-to-end run starts it so the system page has something to watch.
// It answers /health, /pool/status and /pool/usage as the seed describes.
// POST /stub/mode with "healthy" or "degraded" switches what it answers:
// degraded = /pool/status fails with 503 and /health says "degraded".
import http from "node:http";

const port = Number(process.argv[2] ?? 3302);
let mode = "healthy";

const answers = () => ({
  "/health": [200, { status: mode === "healthy" ? "healthy" : "degraded", uptime: 90061, version: "2.3.1", timestamp: new Date().toISOString() }],
  "/pool/status": mode === "healthy"
    ? [200, { total_browsers: 8, active_browsers: 5, idle_browsers: 3, failed_browsers: 0, pool_health: "healthy" }]
    : [503, { error: "pool restarting" }],
  "/pool/usage": [200, { total_contexts: 40, used_contexts: 30, available_contexts: 10, usage_percentage: 75 }],
});

http
  .createServer((req, res) => {
    if (req.method === "POST" && req.url === "/stub/mode") {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        mode = body.trim() === "degraded" ? "degraded" : "healthy";
        res.writeHead(204).end();
      });
      return;
    }
    const answer = answers()[req.url ?? ""];
    if (!answer) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(answer[0], { "content-type": "application/json" }).end(JSON.stringify(answer[1]));
  })
  .listen(port, "127.0.0.1");
