// A WebSocket server the bridge tests drive (Node + Debian's node-ws, run
// with NODE_PATH=/usr/share/nodejs). It listens on a free loopback port
// (ws://, or wss:// with `--tls CERT KEY`) and serves a control API on a
// second loopback port; its first line on stdout is
// `ports <ws-port> <control-port>`. Control (GET, JSON answers):
//   /state                  connections accepted, open now, every message received
//                           (in order), the upgrade headers of the last connection
//   /send?count=N[&raw=1]   sends N numbered messages ({"n":k}, or `tick k` with raw)
//                           to every open connection
//   /drop                   terminates every connection (the listener stays)
//   /stop                   closes the listener and every connection
//   /start                  listens again on the same port
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const { WebSocketServer } = require('ws');

const args = process.argv.slice(2);
const tlsAt = args.indexOf('--tls');
const tls = tlsAt >= 0 ? { cert: fs.readFileSync(args[tlsAt + 1]), key: fs.readFileSync(args[tlsAt + 2]) } : null;

let port = 0;
let server = null;
let wss = null;
let connections = 0;
let lastHeaders = {};
let sent = 0;
const received = [];

function listen(done) {
  server = tls ? https.createServer(tls) : http.createServer();
  wss = new WebSocketServer({ server });
  wss.on('connection', (socket, request) => {
    connections += 1;
    lastHeaders = request.headers;
    socket.on('message', (data, binary) => received.push(binary ? data.toString('base64') : data.toString()));
    socket.on('error', () => {});
  });
  server.listen(port, '127.0.0.1', () => {
    port = server.address().port;
    done();
  });
}

function stop(done) {
  for (const client of wss.clients) client.terminate();
  wss.close();
  server.close(() => done());
}

const control = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  const answer = (body) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  switch (url.pathname) {
    case '/state':
      return answer({ connections, open: wss.clients.size, received, headers: lastHeaders, sent });
    case '/send': {
      const count = Number(url.searchParams.get('count') || '1');
      const raw = url.searchParams.get('raw') === '1';
      for (let i = 0; i < count; i += 1) {
        sent += 1;
        const text = raw ? `tick ${sent}` : JSON.stringify({ n: sent });
        for (const client of wss.clients) client.send(text);
      }
      return answer({ sent, open: wss.clients.size });
    }
    case '/drop': {
      const open = wss.clients.size;
      for (const client of wss.clients) client.terminate();
      return answer({ dropped: open });
    }
    case '/stop':
      return stop(() => answer({ stopped: true }));
    case '/start':
      return listen(() => answer({ port }));
    default:
      res.writeHead(404);
      return res.end();
  }
});

listen(() => control.listen(0, '127.0.0.1', () => {
  process.stdout.write(`ports ${port} ${control.address().port}\n`);
}));
