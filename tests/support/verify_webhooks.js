// An independent Standard Webhooks verifier for the integration tests: Node's
// own crypto, no evmesh code. Reads the webhook_receiver's GET /received JSON
// on stdin; for each request checks that, for every secret given as an
// argument, one of the space-separated signatures in webhook-signature equals
// "v1," + base64(HMAC-SHA256(base64-decoded secret, id + "." + timestamp + "." + body)).
// Prints "verified N" and exits 0, or names the first failure and exits 1.
'use strict';
const crypto = require('crypto');

const secrets = process.argv.slice(2);
let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const requests = JSON.parse(input).requests;
  if (secrets.length === 0 || requests.length === 0) {
    console.log('nothing to verify');
    process.exit(1);
  }
  for (const r of requests) {
    const signatures = r.signatures.split(' ');
    for (const secret of secrets) {
      const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
      const expected = 'v1,' + crypto.createHmac('sha256', key)
        .update(`${r.id}.${r.timestamp}.${r.body}`).digest('base64');
      const ok = signatures.some((s) => s.length === expected.length &&
        crypto.timingSafeEqual(Buffer.from(s), Buffer.from(expected)));
      if (!ok) {
        console.log(`signature mismatch for ${r.id} with ${secret.slice(0, 12)}...: got ${r.signatures}`);
        process.exit(1);
      }
    }
  }
  console.log(`verified ${requests.length}`);
});
