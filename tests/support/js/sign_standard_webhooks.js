// An independent Standard Webhooks sender for the ingest tests: signs with
// the reference `standardwebhooks` npm package (no evmesh code) and prints
// the headers a sender would send, as JSON on one line.
//   node sign_standard_webhooks.js SECRET MSG_ID UNIX_SECONDS < body
'use strict';
const { Webhook } = require('standardwebhooks');

const [secret, msgId, seconds] = process.argv.slice(2);
if (!secret || !msgId || !seconds) {
  console.error('usage: sign_standard_webhooks.js SECRET MSG_ID UNIX_SECONDS < body');
  process.exit(2);
}
const chunks = [];
process.stdin.on('data', (chunk) => chunks.push(chunk));
process.stdin.on('end', () => {
  const body = Buffer.concat(chunks).toString();
  const signature = new Webhook(secret).sign(msgId, new Date(Number(seconds) * 1000), body);
  console.log(JSON.stringify({
    'webhook-id': msgId,
    'webhook-timestamp': seconds,
    'webhook-signature': signature,
  }));
});
