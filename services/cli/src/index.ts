export { allCommands, main } from './main.js';
