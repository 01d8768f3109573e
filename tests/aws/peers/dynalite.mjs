// Runs dynalite (npm; DynamoDB on LevelDB, here in memory) on a free port of
// 127.0.0.1. Prints "listening PORT"; exits when stdin closes.
import dynalite from 'dynalite';

const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`listening ${server.address().port}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
