#!/usr/bin/env node
'use strict';
// A stand-in worker for the agent's probe tests (test instrument):
//   node t/e2e/healthworker.js --sick-file PATH
// Serves GET /healthz on 127.0.0.1 (a free port): 200 "ok", or 503 while
// PATH exists. Counts requests at GET /count. Prints {"port":N} on stdout
// once listening; exits 0 on SIGTERM or SIGINT.

const fs = require('fs');
const http = require('http');

let sickFile = null;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--sick-file' && i + 1 < args.length) sickFile = args[++i];
  else {
    process.stderr.write(`healthworker: unknown argument ${JSON.stringify(args[i])}\n` +
      'usage: healthworker.js --sick-file PATH\n');
    process.exit(2);
  }
}
if (!sickFile) {
  process.stderr.write('healthworker: --sick-file is required\n');
  process.exit(2);
}

let count = 0;
const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/count') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ count }) + '\n');
    return;
  }
  if (req.method !== 'GET' || req.url !== '/healthz') {
    res.writeHead(404);
    res.end('not found\n');
    return;
  }
  count++;
  const sick = fs.existsSync(sickFile);
  res.writeHead(sick ? 503 : 200, { 'Content-Type': 'text/plain' });
  res.end(sick ? 'sick\n' : 'ok\n');
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
