import { describe, expect, it } from 'vitest';
import { FerryError } from '@ferry/core';
import { contentDisposition, parseRange, unsatisfiedRangeHeader } from './downloads.js';
import { fileSlug, unicodeFileName, unicodeFileStem } from './ids.js';

function rangeRefusal(header: string, size = 100): string | undefined {
  try {
    parseRange(header, size);
  } catch (err) {
    if (err instanceof FerryError) return err.code;
    throw err;
  }
  return undefined;
}

/** What a client reads from `filename*=UTF-8''...` (RFC 8187). */
function extendedName(header: string): string | undefined {
  const m = /filename\*=UTF-8''([^;\s]+)/.exec(header);
  return m ? decodeURIComponent(m[1]!) : undefined;
}

function fallbackName(header: string): string | undefined {
  return /filename="([^"]*)"/.exec(header)?.[1];
}

describe('file names from export names', () => {
  it.each([
    ['Seattle Rental Data Export', 'Seattle-Rental-Data-Export'],
    ['Données été', 'Donnees-ete'],
    ['Café Zürich / 2024', 'Cafe-Zurich-2024'],
    ['Straße Łódź', 'Strasse-Lodz'],
    ['Москва 2024', 'Moskva-2024'],
    ['Отчёт по аренде', 'Otchyot-po-arende'],
    ['Йошкар-Ола', 'Yoshkar-Ola'],
    ['Αθήνα', 'Athina'],
    ['東京 rentals 2024', 'rentals-2024'],
    ['１２３', '123'],
    ['../../etc/passwd', 'etc-passwd'],
    ['   .hidden  ', 'hidden'],
  ])('%j keeps a readable ASCII name: %s', (name, slug) => {
    expect(fileSlug(name)).toBe(slug);
  });

  it('falls back to "export" only when nothing is left to keep, and keeps the real name for filename*', () => {
    for (const name of ['東京', 'مرحبا', '///', '😀']) expect(fileSlug(name), name).toBe('export');
    expect(unicodeFileName('東京', 'export.csv.gz')).toBe('東京.csv.gz');
    expect(unicodeFileName('مرحبا', 'export.part-00002.csv.gz')).toBe('مرحبا.part-00002.csv.gz');
  });

  it('never yields a name Windows refuses, a path, or a hidden file', () => {
    expect(fileSlug('CON')).toBe('CON_');
    expect(fileSlug('nul.csv')).toBe('nul_.csv');
    expect(fileSlug('com1')).toBe('com1_');
    expect(fileSlug('Console')).toBe('Console');
    for (const name of ['a/b\\c', '..', '.env', 'x:y*z?"<>|']) expect(fileSlug(name), name).toMatch(/^[A-Za-z0-9_][A-Za-z0-9._-]*$/);
    expect(fileSlug(`${'a'.repeat(99)}-${'b'.repeat(20)}`)).toBe('a'.repeat(99));
  });

  it('keeps the UTF-8 stem safe: no separators, controls or bidi overrides that disguise an extension', () => {
    expect(unicodeFileStem('Café Zürich / 2024')).toBe('Café Zürich - 2024');
    expect(unicodeFileStem('invoice\u202Egpj.exe')).toBe('invoicegpj.exe');
    expect(unicodeFileStem('a\r\nb\u0000c')).toBe('abc');
    expect(unicodeFileStem('///')).toBeUndefined();
    expect(unicodeFileStem('\u200B')).toBeUndefined();
  });

  it('adds a UTF-8 name only when it says more than the ASCII one, for files named from that export', () => {
    expect(unicodeFileName('Seattle Rental Data Export', 'Seattle-Rental-Data-Export.csv.gz')).toBeUndefined();
    expect(unicodeFileName('Données été', 'Donnees-ete.csv.gz')).toBe('Données été.csv.gz');
    expect(unicodeFileName('Données été', 'Donnees-ete.manifest.json')).toBe('Données été.manifest.json');
    expect(unicodeFileName('Données été', 'something-else.csv.gz')).toBeUndefined();
  });
});

describe('Content-Disposition', () => {
  it('keeps plain ASCII names as they were', () => {
    expect(contentDisposition('Seattle-Rental-Data-Export.csv.gz')).toBe('attachment; filename="Seattle-Rental-Data-Export.csv.gz"');
  });

  it('gives an ASCII fallback and the exact UTF-8 name in filename* (RFC 6266)', () => {
    const name = 'Données été.csv.gz';
    const header = contentDisposition(fileSlug('Données été') + '.csv.gz', unicodeFileName('Données été', 'Donnees-ete.csv.gz'));
    expect(header).toBe(`attachment; filename="Donnees-ete.csv.gz"; filename*=UTF-8''Donn%C3%A9es%20%C3%A9t%C3%A9.csv.gz`);
    expect(extendedName(header)).toBe(name);

    const cjk = contentDisposition('export.csv.gz', '東京.csv.gz');
    expect(fallbackName(cjk)).toBe('export.csv.gz');
    expect(extendedName(cjk)).toBe('東京.csv.gz');
  });

  it("percent-encodes ' ( ) * in filename*, which are not attr-chars", () => {
    const header = contentDisposition('x.csv', "l'été (final)*.csv");
    const encoded = /filename\*=UTF-8''(.*)$/.exec(header)![1]!;
    expect(encoded).toMatch(/^[A-Za-z0-9!#$&+.^_`|~%-]+$/);
    expect(encoded).toContain('%27');
    expect(encoded).toContain('%28');
    expect(encoded).toContain('%29');
    expect(encoded).toContain('%2A');
    expect(extendedName(header)).toBe("l'été (final)*.csv");
  });

  it('derives a readable fallback from a non-ASCII file name, quoting nothing a client could misread', () => {
    const header = contentDisposition('Café "best" 100%\\x.csv');
    expect(fallbackName(header)).toBe('Cafe _best_ 100__x.csv');
    expect(extendedName(header)).toBe('Café "best" 100%\\x.csv');
    // A broken UTF-16 name does not throw (encodeURIComponent would).
    expect(extendedName(contentDisposition('a.csv', 'a\uD800.csv'))).toBe('a\uFFFD.csv');
  });
});

describe('Range', () => {
  it('parses the forms HTTP allows, clamped to the object', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=95-200', 100)).toEqual({ start: 95, end: 99 });
    expect(parseRange('Bytes=0-0', 100)).toEqual({ start: 0, end: 0 });
  });

  it('serves the first range of a multi-range request instead of refusing it', () => {
    expect(parseRange('bytes=0-1,5-6', 100)).toEqual({ start: 0, end: 1 });
    expect(parseRange('bytes=0-1, 5-6', 100)).toEqual({ start: 0, end: 1 });
    expect(parseRange('bytes=-5,0-1', 100)).toEqual({ start: 95, end: 99 });
    // The first one that exists: a list is only unsatisfiable when none of it is.
    expect(parseRange('bytes=500-600,10-19', 100)).toEqual({ start: 10, end: 19 });
  });

  it('refuses malformed or wholly unsatisfiable headers with 416', () => {
    for (const bad of ['bytes=100-', 'bytes=5-2', 'bytes=-0', 'bytes=-', 'items=0-1', 'bytes=', 'bytes=,', 'bytes=0-1,x', 'bytes=0-1,5-2', 'bytes=100-,200-', 'bytes 0-1']) {
      expect(rangeRefusal(bad), bad).toBe('RANGE_NOT_SATISFIABLE');
    }
    expect(rangeRefusal('bytes=0-0', 0)).toBe('RANGE_NOT_SATISFIABLE');
    expect(rangeRefusal('bytes=-1', 0)).toBe('RANGE_NOT_SATISFIABLE');
  });

  it('gives the Content-Range a 416 carries', () => {
    expect(unsatisfiedRangeHeader(100)).toBe('bytes */100');
    expect(unsatisfiedRangeHeader(0)).toBe('bytes */0');
  });
});
