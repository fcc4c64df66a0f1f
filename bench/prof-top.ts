/**
 * Top self-time functions of a CPU profile: `node --import tsx bench/prof-top.ts <file.cpuprofile|dir> [top]`.
 * bench/ingest.ts --cpu-prof prints the same for the server and worker it profiled.
 */
import { statSync } from 'node:fs';
import { formatProfile, mainProfileIn, summarizeProfile } from './cpu-profile.js';

const [target, top = '30'] = process.argv.slice(2);
if (!target) {
  console.error('usage: node --import tsx bench/prof-top.ts <file.cpuprofile|dir> [top]');
  process.exit(2);
}
const file = statSync(target).isDirectory() ? mainProfileIn(target) : target;
if (!file) {
  console.error(`no .cpuprofile in ${target}`);
  process.exit(2);
}
console.log(formatProfile('profile', summarizeProfile(file, Number(top))));
