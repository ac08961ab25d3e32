#!/usr/bin/env node
/**
 * TypeScript types of the client messages, generated from the protocol's JSON Schema (the one
 * the server validates against), so the frontend and the server never drift apart.
 *
 *   node tools/gen-protocol-types.mjs           write src/api/messages.generated.ts
 *   node tools/gen-protocol-types.mjs --check   fail if that file is not what the schema gives
 *
 * The schema's `$defs` become type aliases and `$defs.messages.<type>` one interface per
 * message, with `type` required (the root schema requires it of every message), plus the union
 * `ClientMessage`. An object lists exactly its `properties` unless it says
 * `additionalProperties: true` (the server accepts extra fields; the client sends none); one
 * without `properties` is any JSON object. A keyword this generator does not know stops it, so
 * a schema change cannot be half-translated. The output is formatted with the project's
 * Prettier settings, so the check and `jlpm prettier:check` agree.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as prettier from 'prettier';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SCHEMA = join(ROOT, 'notebook_sync_ydoc/schema/protocol.schema.json');
const OUTPUT = join(ROOT, 'src/api/messages.generated.ts');

/** Keywords that constrain values but have no TypeScript form: kept as doc comments. */
const DOC_KEYWORDS = [
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum'
];
/** Keywords read by `tsType` (with DOC_KEYWORDS and `description`, all that is allowed). */
const TYPE_KEYWORDS = [
  '$ref',
  'const',
  'enum',
  'anyOf',
  'type',
  'items',
  'properties',
  'required',
  'additionalProperties'
];

const pascal = name =>
  name.replace(/(^|_)([a-z])/g, (_, __, letter) => letter.toUpperCase());

const messageInterface = name => `I${pascal(name)}Message`;

function literal(value) {
  if (typeof value === 'string') {
    return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  }
  if (
    typeof value === 'number' ||
    typeof value === 'boolean' ||
    value === null
  ) {
    return String(value);
  }
  throw new Error(`unsupported literal ${JSON.stringify(value)}`);
}

function docComment(schema, indent = '') {
  const lines = [];
  if (schema.description) {
    lines.push(schema.description);
  }
  const limits = DOC_KEYWORDS.filter(k => k in schema).map(k =>
    k === 'pattern' ? `pattern \`${schema[k]}\`` : `${k} ${schema[k]}`
  );
  if (limits.length) {
    lines.push(`Schema: ${limits.join(', ')}.`);
  }
  return comment(lines, indent);
}

/** A doc comment of these paragraphs, wrapped, on one line when it fits (empty for none). */
function comment(paragraphs, indent = '') {
  const lines = paragraphs.flatMap((p, i) => [...(i ? [''] : []), ...wrap(p)]);
  if (!lines.length) {
    return '';
  }
  if (lines.length === 1 && indent.length + lines[0].length <= 90) {
    return `${indent}/** ${lines[0]} */\n`;
  }
  const body = lines.map(l => `${indent} *${l ? ` ${l}` : ''}`).join('\n');
  return `${indent}/**\n${body}\n${indent} */\n`;
}

function wrap(text, width = 92) {
  const lines = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return line ? [...lines, line] : lines;
}

function checkKeywords(schema, where) {
  for (const key of Object.keys(schema)) {
    if (
      !TYPE_KEYWORDS.includes(key) &&
      !DOC_KEYWORDS.includes(key) &&
      key !== 'description'
    ) {
      throw new Error(`${where}: unsupported schema keyword "${key}"`);
    }
  }
}

function refName(ref, where) {
  const match = /^#\/\$defs\/([a-z_]+)$/.exec(ref);
  if (!match || match[1] === 'messages') {
    throw new Error(`${where}: unsupported $ref ${ref}`);
  }
  return pascal(match[1]);
}

function objectType(schema, where, alwaysRequired = []) {
  if (!schema.properties) {
    return '{ [key: string]: unknown }';
  }
  const required = new Set([...(schema.required ?? []), ...alwaysRequired]);
  const members = Object.entries(schema.properties).map(([name, prop]) => {
    const optional = required.has(name) ? '' : '?';
    return `${docComment(prop, '  ')}  ${name}${optional}: ${tsType(prop, `${where}.${name}`)};`;
  });
  if (schema.additionalProperties === true) {
    members.push('  [key: string]: unknown;');
  } else if (
    schema.additionalProperties !== undefined &&
    schema.additionalProperties !== false
  ) {
    throw new Error(
      `${where}: only a boolean additionalProperties is supported`
    );
  }
  return `{\n${members.join('\n')}\n}`;
}

function tsType(schema, where) {
  checkKeywords(schema, where);
  if (schema.$ref) {
    return refName(schema.$ref, where);
  }
  if ('const' in schema) {
    return literal(schema.const);
  }
  if (schema.enum) {
    return schema.enum.map(literal).join(' | ');
  }
  if (schema.anyOf) {
    return schema.anyOf
      .map((s, i) => tsType(s, `${where}.anyOf[${i}]`))
      .join(' | ');
  }
  switch (schema.type) {
    case 'string':
      return 'string';
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array': {
      const item = schema.items
        ? tsType(schema.items, `${where}.items`)
        : 'unknown';
      return /^\w+$/.test(item) ? `${item}[]` : `Array<${item}>`;
    }
    case 'object':
      return objectType(schema, where);
    default:
      throw new Error(
        `${where}: unsupported type ${JSON.stringify(schema.type)}`
      );
  }
}

function generate(schema) {
  const { messages, ...defs } = schema.$defs;
  const rootRequired = schema.required ?? [];
  const source = relative(ROOT, SCHEMA);
  const out = [
    `// Generated from ${source} by tools/gen-protocol-types.mjs.`,
    '// Do not edit: change the schema and run `jlpm gen:protocol`.',
    '',
    comment([schema.title, schema.description])
  ];
  for (const [name, def] of Object.entries(defs)) {
    out.push(
      `${docComment(def)}export type ${pascal(name)} = ${tsType(def, name)};`,
      ''
    );
  }
  const names = Object.keys(messages);
  for (const name of names) {
    const where = `messages.${name}`;
    const message = messages[name];
    checkKeywords(message, where);
    if (message.type !== 'object' || message.properties?.type?.const !== name) {
      throw new Error(
        `${where}: a message is an object whose "type" is the const "${name}"`
      );
    }
    const body = objectType(message, where, rootRequired);
    const summary = `The \`${name}\` message.`;
    out.push(comment([summary, message.description].filter(Boolean)).trimEnd());
    out.push(`export interface ${messageInterface(name)} ${body}`, '');
  }
  out.push('/** Every message a client may send. */');
  out.push(
    `export type ClientMessage =\n${names.map(n => `  | ${messageInterface(n)}`).join('\n')};`
  );
  out.push('', "export type ClientMessageType = ClientMessage['type'];", '');
  return out.join('\n');
}

async function main() {
  const check = process.argv.includes('--check');
  const schema = JSON.parse(await readFile(SCHEMA, 'utf8'));
  const config = (await prettier.resolveConfig(OUTPUT)) ?? {};
  const text = await prettier.format(generate(schema), {
    ...config,
    filepath: OUTPUT
  });
  const target = relative(ROOT, OUTPUT);
  if (!check) {
    await writeFile(OUTPUT, text);
    console.log(`wrote ${target}`);
    return;
  }
  const current = await readFile(OUTPUT, 'utf8').catch(() => null);
  if (current !== text) {
    console.error(
      `${target} is out of date with ${relative(ROOT, SCHEMA)}: run \`jlpm gen:protocol\``
    );
    process.exit(1);
  }
  console.log(`${target} is up to date with the schema`);
}

main().catch(err => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
