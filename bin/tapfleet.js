#!/usr/bin/env node
// The one `tapfleet` entry point; everything it does lives in the workspaces (services/cli composes them).
import { main } from '@tapfleet/cli';

process.exitCode = await main(process.argv.slice(2));
