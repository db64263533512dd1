export * from './records.js';
export * from './runner-process.js';
export * from './aggregations.js';
