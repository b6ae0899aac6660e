/**
 * Prints docs/configuration.md's settings table from lib/config.ts's SETTINGS, so the two never disagree
 * (a jest test compares them). `npm run docs:settings` rewrites the table in docs/configuration.md.
 */
import * as fs from 'fs';
import * as path from 'path';

import { SETTINGS } from '../lib/config';

const BEGIN = '<!-- settings:begin -->';
const END = '<!-- settings:end -->';
/** The page that holds the settings table. */
export const SETTINGS_DOC = path.join(__dirname, '..', 'docs', 'configuration.md');

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

/** The page's text with the table between the markers replaced by the current one. */
export function withCurrentTable(page: string): string {
  const start = page.indexOf(BEGIN);
  const end = page.indexOf(END);
  if (start < 0 || end < start) throw new Error(`docs/configuration.md lacks the ${BEGIN} ... ${END} markers`);
  return `${page.slice(0, start + BEGIN.length)}\n${settingsTable()}\n${page.slice(end)}`;
}

if (require.main === module) {
  fs.writeFileSync(SETTINGS_DOC, withCurrentTable(fs.readFileSync(SETTINGS_DOC, 'utf8')));
  console.log(`docs/configuration.md: ${Object.keys(SETTINGS).length} settings documented`);
}
