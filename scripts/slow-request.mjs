// A request that is still in flight for a while: POST /admin/api-keys whose body
// arrives in two halves, `pauseMs` apart. Prints the response status.
// usage: node scripts/slow-request.mjs <base url> <api key> <pauseMs>
import http from 'node:http';

const [base, key, pause = '1500'] = process.argv.slice(2);
const body = JSON.stringify({ name: 'in flight during shutdown', role: 'member' });
const url = new URL('/admin/api-keys', base);
const req = http.request(url, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'X-API-Key': key },
});
req.on('response', (res) => {
  res.resume();
  res.on('end', () => console.log(res.statusCode));
});
req.on('error', (error) => {
  console.log(`error ${error.message}`);
});
req.write(body.slice(0, 10));
setTimeout(() => req.end(body.slice(10)), Number(pause));
