// A no-op handler for aws-lambda-ric, for bench/emulator/run.sh.
export const handler = async () => null;
