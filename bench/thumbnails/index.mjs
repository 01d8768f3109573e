// The thumbnail job in Node 20 + sharp, the peer of examples/thumbnails: an SQS batch of image
// URLs in; each image fetched (16 in flight), resized to fit 256 px, written as JPEG quality 80
// (temporary file, fsync, rename), one directory fsync and one SQLite transaction for the batch;
// the partial batch response out. Run by aws-lambda-ric under `muster invoke` (bench/thumbnails).
//
// Environment: BENCH_OUTPUT_DIR (required), BENCH_FETCH_LIMIT (16), BENCH_SIZE (256),
// BENCH_QUALITY (80).
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import Database from 'better-sqlite3';
import sharp from 'sharp';

const outputDir = process.env.BENCH_OUTPUT_DIR;
const fetchLimit = Number(process.env.BENCH_FETCH_LIMIT || 16);
const size = Number(process.env.BENCH_SIZE || 256);
const quality = Number(process.env.BENCH_QUALITY || 80);
const thumbDir = `${outputDir}/thumbs`;
mkdirSync(thumbDir, { recursive: true });

const db = new Database(`${outputDir}/thumbnails.db`);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec(`CREATE TABLE IF NOT EXISTS thumbnails (
    source_url TEXT PRIMARY KEY, message_id TEXT, source_bytes INTEGER, width INTEGER,
    height INTEGER, format TEXT, thumbnail_key TEXT, thumbnail_width INTEGER,
    thumbnail_height INTEGER, thumbnail_bytes INTEGER, dhash TEXT, average_color TEXT,
    processed_at TEXT)`);
const upsert = db.prepare(`INSERT OR REPLACE INTO thumbnails VALUES
    (@source_url, @message_id, @source_bytes, @width, @height, @format, @thumbnail_key,
     @thumbnail_width, @thumbnail_height, @thumbnail_bytes, @dhash, @average_color,
     @processed_at)`);
const commit = db.transaction((rows) => {
    for (const row of rows) upsert.run(row);
});
let sequence = 0;

// 64-bit difference hash of the thumbnail: 9x8 grey, each pixel against its right neighbour.
async function dhash(image) {
    const grey = await sharp(image).greyscale().resize(9, 8, { fit: 'fill' }).raw().toBuffer();
    let hash = 0n;
    for (let y = 0; y < 8; ++y) {
        for (let x = 0; x < 8; ++x) hash = (hash << 1n) | (grey[y * 9 + x] > grey[y * 9 + x + 1] ? 1n : 0n);
    }
    return hash.toString(16).padStart(16, '0');
}

async function processRecord(record) {
    const url = JSON.parse(record.body).url;
    const response = await fetch(url);
    if (!response.ok) throw new Error(`HTTP ${response.status} from ${url}`);
    const source = Buffer.from(await response.arrayBuffer());
    const input = sharp(source);
    const meta = await input.metadata();
    const { data, info } = await input
        .rotate()
        .resize(size, size, { fit: 'inside', withoutEnlargement: true })
        .flatten({ background: '#ffffff' })
        .jpeg({ quality })
        .toBuffer({ resolveWithObject: true });
    const stats = await sharp(data).stats();
    const hex = (c) => Math.round(c.mean).toString(16).padStart(2, '0');
    const key = createHash('sha256').update(url).digest('hex').slice(0, 32) + '.jpg';
    const temp = `${thumbDir}/.${key}.${process.pid}.${sequence++}.tmp`;
    const file = await open(temp, 'wx');
    try {
        await file.writeFile(data);
        await file.sync();
    } finally {
        await file.close();
    }
    await rename(temp, `${thumbDir}/${key}`);
    return {
        source_url: url, message_id: record.messageId, source_bytes: source.length,
        width: meta.width, height: meta.height, format: meta.format, thumbnail_key: key,
        thumbnail_width: info.width, thumbnail_height: info.height, thumbnail_bytes: data.length,
        dhash: await dhash(data),
        average_color: '#' + stats.channels.slice(0, 3).map(hex).join(''),
        processed_at: new Date().toISOString(),
    };
}

export const handler = async (event) => {
    const records = event.Records || [];
    const rows = new Array(records.length);
    const failed = new Set();
    let next = 0;
    // fetchLimit workers pulling records: at most that many in flight.
    const worker = async () => {
        while (next < records.length) {
            const i = next++;
            try {
                rows[i] = await processRecord(records[i]);
            } catch (e) {
                console.warn(`record failed ${records[i].messageId}: ${e.message}`);
                failed.add(i);
            }
        }
    };
    await Promise.all(Array.from({ length: Math.min(fetchLimit, records.length) }, worker));
    const good = rows.filter((r, i) => r && !failed.has(i));
    if (good.length > 0) {
        // The renames durable before the rows that name them.
        const dir = openSync(thumbDir, 'r');
        try {
            fsyncSync(dir);
        } finally {
            closeSync(dir);
        }
        commit(good);
    }
    return {
        batchItemFailures: [...failed].map((i) => ({ itemIdentifier: records[i].messageId })),
    };
};
