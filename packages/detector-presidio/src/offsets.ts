/**
 * Turns Presidio's offsets (Python string indices: Unicode code points) into JavaScript string
 * offsets (UTF-16 code units). They differ after every character outside the Basic
 * Multilingual Plane (an emoji, say): one code point, two code units.
 */
export function codePointOffsets(text: string): (index: number) => number | undefined {
  let astral = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      astral = true;
      break;
    }
  }
  if (!astral)
    return (index) =>
      Number.isInteger(index) && index >= 0 && index <= text.length ? index : undefined;
  // One pass: unit[n] is where the n-th code point starts (a lone surrogate counts as one, as Python's does).
  const units: number[] = [];
  for (let i = 0; i < text.length; i++) {
    units.push(i);
    const c = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
  }
  units.push(text.length);
  return (index) => (Number.isInteger(index) ? units[index] : undefined);
}
