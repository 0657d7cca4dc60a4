// A webhook receiver for the tests that checks every delivery with the
// `standardwebhooks` package (the specification's own library).
//
//   node webhooks.mjs PORT
//
// POST /hook/<name>  takes a delivery (answers 204, or 500 while
//                     `fail` is set for <name>, or 302 for /hook/redirect)
// POST /fail/<name>   {"times": n}: answer the next n deliveries with 500
// GET  /received      with header x-secret: every delivery so far, each
//                     verified against that secret: {path, id, verified,
//                     error, headers, body}
//
// It prints "ready" once it listens.
import http from 'node:http';
import { Webhook } from 'standardwebhooks';

const port = Number(process.argv[2]);
const received = [];
const failing = new Map();

function read(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

http
  .createServer(async (req, res) => {
    const body = await read(req);
    const url = new URL(req.url, `http://127.0.0.1:${port}`);
    if (req.method === 'POST' && url.pathname.startsWith('/fail/')) {
      failing.set(url.pathname.slice(6), JSON.parse(body || '{}').times || 1);
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'POST' && url.pathname.startsWith('/hook/')) {
      const name = url.pathname.slice(6);
      received.push({ path: url.pathname, headers: req.headers, body });
      if (name === 'redirect') {
        res.writeHead(302, { location: `http://127.0.0.1:${port}/hook/elsewhere` }).end();
        return;
      }
      const left = failing.get(name) || 0;
      if (left > 0) {
        failing.set(name, left - 1);
        res.writeHead(500).end('failing on purpose');
        return;
      }
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'GET' && url.pathname === '/received') {
      const secret = req.headers['x-secret'];
      const out = received.map((r) => {
        let verified = false;
        let error = null;
        try {
          new Webhook(secret).verify(r.body, {
            'webhook-id': r.headers['webhook-id'],
            'webhook-timestamp': r.headers['webhook-timestamp'],
            'webhook-signature': r.headers['webhook-signature'],
          });
          verified = true;
        } catch (e) {
          error = String(e && e.message ? e.message : e);
        }
        return { path: r.path, id: r.headers['webhook-id'], verified, error, headers: r.headers, body: r.body };
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
      return;
    }
    res.writeHead(404).end();
  })
  .listen(port, '127.0.0.1', () => console.log('ready'));
