// A stand-in that throttles: the next N requests after `POST /__throttle?n=N`
// are refused the way AWS refuses them (DynamoDB: 400 ThrottlingException;
// S3: 503 SlowDown), then it answers 200 (`{}` to DynamoDB, "ok" to S3).
// `GET /__count` tells how many requests it got since the last /__throttle,
// and `GET /__dates` their X-Amz-Date headers (each attempt is signed anew).
// Prints "listening PORT"; exits when stdin closes.
import http from 'node:http';

let throttle = 0;
let count = 0;
let dates = [];
const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
        if (url.pathname === '/__throttle') {
            throttle = Number(url.searchParams.get('n') ?? '0');
            count = 0;
            dates = [];
            res.end('set');
            return;
        }
        if (url.pathname === '/__count') return res.end(String(count));
        if (url.pathname === '/__dates') return res.end(JSON.stringify(dates));
        ++count;
        dates.push(req.headers['x-amz-date'] ?? '');
        const dynamodb = 'x-amz-target' in req.headers;
        if (throttle > 0) {
            --throttle;
            if (dynamodb) {
                res.writeHead(400, {
                    'Content-Type': 'application/x-amz-json-1.0',
                    'x-amzn-RequestId': `throttled-${count}`,
                });
                res.end(JSON.stringify({
                    __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException',
                    message: 'Rate of requests exceeds the allowed throughput.',
                }));
            } else {
                res.writeHead(503, { 'Content-Type': 'application/xml', 'x-amz-request-id': `slow-${count}` });
                res.end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>' +
                    '<Message>Please reduce your request rate.</Message>' +
                    `<RequestId>slow-${count}</RequestId></Error>`);
            }
            return;
        }
        if (dynamodb) {
            res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.0' });
            res.end('{}');
        } else {
            res.writeHead(200, { 'Content-Type': 'text/plain', ETag: '"e"' });
            res.end(req.method === 'HEAD' ? undefined : 'ok');
        }
    });
});
server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`listening ${server.address().port}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
