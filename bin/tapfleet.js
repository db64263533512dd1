#!/usr/bin/env node
// The one `tapfleet` entry point; everything it does lives in the workspaces (services/cli composes them).
import { main } from '@tapfleet/cli';

const code = await main(process.argv.slice(2));
// A command that failed (a service whose start threw, say) must not linger because a client it
// opened still holds the event loop (a NATS connection reconnecting forever kept a failed
// assembler alive and "starting" for minutes). Success ends when its work is done, as before.
if (code !== 0) process.exit(code);
process.exitCode = code;
