// The baseline for bench/fanout: a Node.js WebSocket broadcast server on the
// npm package `ws` (Debian's node-ws), speaking the subset of evmesh's
// protocol the benchmark uses: {"op":"subscribe"} → {"op":"subscribed"},
// {"op":"publish"} → the same {"op":"event",...} message to every subscribed
// client, then {"op":"ack","id","seq"} to the publisher. It is the usual
// idiomatic broadcast, made as fast as plain `ws` allows: no compression,
// each event serialized once into a Buffer sent to all clients as a text
// frame. It keeps nothing (no store, no topic matching: every subscriber
// gets every event) and does not bound what it buffers for slow clients.
//
//   NODE_PATH=/usr/share/nodejs node node_ws_server.js [PORT]   (0: any free port)
'use strict';
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] || 0);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, maxPayload: 1 << 20 });
const subscribers = new Set();
let seq = 0;

wss.on('connection', ws => {
  ws.on('message', (raw, isBinary) => {
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch (e) {
      ws.send('{"op":"error","code":400,"message":"the message is not valid JSON"}');
      return;
    }
    switch (msg.op) {
      case 'subscribe':
        subscribers.add(ws);
        ws.send(JSON.stringify({ op: 'subscribed', topic: msg.topic }));
        break;
      case 'publish': {
        const s = ++seq;
        const id = msg.id || 'n' + s;
        const event = Buffer.from(JSON.stringify({
          op: 'event', id, topic: msg.topic, time: new Date().toISOString(), seq: s, data: msg.data,
        }));
        for (const client of subscribers) client.send(event, { binary: false });
        ws.send(JSON.stringify({ op: 'ack', id, seq: s }));
        break;
      }
      case 'ping':
        ws.send('{"op":"pong"}');
        break;
      default:
        ws.send('{"op":"error","code":400,"message":"unknown op"}');
    }
  });
  ws.on('close', () => subscribers.delete(ws));
});

wss.on('listening', () => {
  console.log('node-ws baseline serving ws://127.0.0.1:' + wss.address().port + ' (pid ' + process.pid + ')');
});
