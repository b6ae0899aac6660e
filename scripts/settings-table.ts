/**
 * Prints README.md's configuration reference from lib/config.ts's SETTINGS, so the two never disagree
 * (a jest test compares them). `npm run docs:settings` rewrites the table in README.md.
 */
import * as fs from 'fs';
import * as path from 'path';
import { SETTINGS } from '../lib/config';

const BEGIN = '<!-- settings:begin -->';
const END = '<!-- settings:end -->';

function show(value: unknown): string {
  if (value === undefined) return '_unset_';
  if (typeof value === 'string') return `\`${value}\``;
  return `\`${JSON.stringify(value)}\``;
}

/** The markdown table: one row per setting with its default and description. */
export function settingsTable(): string {
  const rows = Object.entries(SETTINGS).map(([key, s]) => `| \`${key}\` | ${show(s.default)} | ${s.description.replace(/\|/g, '\\|')} |`);
  return ['| Setting | Default | What it does |', '| --- | --- | --- |', ...rows].join('\n');
}

/** README.md's text with the table between the markers replaced by the current one. */
export function withCurrentTable(readme: string): string {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the ${BEGIN} ... ${END} markers`);
  return `${readme.slice(0, start + BEGIN.length)}\n${settingsTable()}\n${readme.slice(end)}`;
}

if (require.main === module) {
  const file = path.join(__dirname, '..', 'README.md');
  fs.writeFileSync(file, withCurrentTable(fs.readFileSync(file, 'utf8')));
  console.log(`README.md: ${Object.keys(SETTINGS).length} settings documented`);
}
