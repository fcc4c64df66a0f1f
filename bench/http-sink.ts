/**
 * The HTTP floor's server (a child process of bench/ingest.ts): node:http on PORT, reading each
 * request body whole, as the door must, and answering PutTraceSegments' "all accepted" without looking
 * at it. What this costs, with the load generator's own share, is work the real door cannot skip.
 *
 * env: PORT. Prints "listening" once it is.
 */
import http from 'node:http';

const port = Number(process.env.PORT);
if (!port) throw new Error('PORT is required');
const REPLY = Buffer.from('{"UnprocessedTraceSegments":[]}');

const server = http.createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on('data', (b: Buffer) => parts.push(b));
  req.on('end', () => {
    // the bytes are joined as the door joins them; nothing else is done with them
    const body = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    res.writeHead(body.length ? 200 : 400, { 'content-type': 'application/x-amz-json-1.1', 'content-length': REPLY.length });
    res.end(REPLY);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => console.log('listening'));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
