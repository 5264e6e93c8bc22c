/** JSON members appended to a frame's object (`,"key":value`): what `PartEncoder.annotate` adds to a stream's last frame. */
export function trailerMembers(fields: Readonly<Record<string, unknown>>): string {
  let out = '';
  for (const [key, value] of Object.entries(fields)) out += `,${JSON.stringify(key)}:${JSON.stringify(value)}`;
  return out;
}
