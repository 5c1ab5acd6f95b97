import { createHash, randomBytes } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** 24 base62 characters from `bytes`, the shape of the seed's `evt_LcTuvSbcI9qWia4IWcy5Bmkg`. */
function base62(bytes: Buffer, length = 24): string {
  let out = '';
  for (let i = 0; out.length < length; i++) out += BASE62[bytes[i % bytes.length]! % 62];
  return out;
}

/**
 * An id for something a state change announces. With a `seed` it is derived, so a transition
 * that is retried (a worker died after writing the file but before committing) produces the
 * same id and receivers, and the outbox, dedupe; without one it is random.
 */
function stableId(prefix: string, seed?: string): string {
  const bytes = seed === undefined ? randomBytes(32) : createHash('sha256').update(seed).digest();
  return `${prefix}_${base62(bytes)}`;
}

/** A random id with a type prefix, e.g. `ep_...`, `dlv_...`: 16 random bytes, URL-safe. */
export function randomId(prefix: string): string {
  return `${prefix}_${randomBytes(16).toString('base64url')}`;
}

export function eventId(seed?: string): string {
  return stableId('evt', seed);
}

/** The message id of an export's own webhook (sent as `webhook-id`). */
export function deliveryId(exportId: string, eventType: string): string {
  return stableId('msg', `${exportId}\0${eventType}`);
}

/**
 * Letters that accent stripping leaves non-ASCII, written the way they usually are in ASCII
 * (Latin extras, Greek and Cyrillic by common romanisation). Lower case; capitals are derived.
 */
const ROMANISATION: Readonly<Record<string, string>> = {
  ß: 'ss', æ: 'ae', ø: 'o', œ: 'oe', ł: 'l', đ: 'd', ð: 'd', þ: 'th', ı: 'i', ħ: 'h', ŋ: 'ng', ſ: 's',
  α: 'a', β: 'v', γ: 'g', δ: 'd', ε: 'e', ζ: 'z', η: 'i', θ: 'th', ι: 'i', κ: 'k', λ: 'l', μ: 'm',
  ν: 'n', ξ: 'x', ο: 'o', π: 'p', ρ: 'r', σ: 's', ς: 's', τ: 't', υ: 'y', φ: 'f', χ: 'ch', ψ: 'ps', ω: 'o',
  а: 'a', б: 'b', в: 'v', г: 'g', ґ: 'g', д: 'd', е: 'e', ё: 'yo', є: 'ye', ж: 'zh', з: 'z', и: 'i',
  і: 'i', ї: 'yi', й: 'y', к: 'k', л: 'l', м: 'm', н: 'n', о: 'o', п: 'p', р: 'r', с: 's', т: 't',
  у: 'u', ў: 'u', ф: 'f', х: 'kh', ц: 'ts', ч: 'ch', ш: 'sh', щ: 'shch', ъ: '', ы: 'y', ь: '', э: 'e',
  ю: 'yu', я: 'ya',
};

function romanise(char: string): string | undefined {
  const lower = char.toLowerCase();
  const ascii = ROMANISATION[lower];
  if (ascii === undefined || lower === char) return ascii;
  return ascii.charAt(0).toUpperCase() + ascii.slice(1);
}

/** Device names Windows will not open as files, whatever the extension (`CON.csv.gz`). */
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])$/i;

/**
 * A file name from a user-given export name: ASCII, safe on every OS and in a store key, and as
 * readable as the name allows. Accents go (`Données été` -> `Donnees-ete`), Greek and Cyrillic are
 * romanised (`Москва` -> `Moskva`); other letters (CJK ...) and separators become `-`. Only a name
 * with nothing ASCII to keep falls back to `export`; its real name goes in `filename*`
 * (see `unicodeFileStem` and `contentDisposition`).
 */
export function fileSlug(name: string): string {
  const romanised = Array.from(name.normalize('NFC'), (c) => romanise(c) ?? c).join('');
  const slug = Array.from(romanised.normalize('NFKD').replace(/\p{M}/gu, ''), (c) => romanise(c) ?? c)
    .join('')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-.]+/, '')
    .slice(0, 100)
    .replace(/[-.]+$/, '');
  if (!slug) return 'export';
  // `nul.csv.gz` is the device too: the part before the first dot is what Windows checks.
  return WINDOWS_RESERVED.test(slug.split('.')[0]!) ? slug.replace(/^[^.]*/, (device) => `${device}_`) : slug;
}

/**
 * The export name as a UTF-8 file name stem for `filename*`: the user's own spelling, minus what no
 * file name may hold (path separators, `<>:"|?*`, control and invisible formatting characters such
 * as bidi overrides, which can disguise an extension). Undefined when nothing is left.
 */
export function unicodeFileStem(name: string): string | undefined {
  const stem = Array.from(
    name
      .normalize('NFC')
      .replace(/[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu, '')
      .replace(/[/\\:*?"<>|]+/g, '-')
      .replace(/\s+/gu, ' ')
      .replace(/^[\s.-]+|[\s.]+$/gu, ''),
  )
    .slice(0, 100)
    .join('')
    .replace(/[\s.]+$/u, '');
  return stem || undefined;
}

/**
 * The UTF-8 name of a stored export file, for `contentDisposition(fileName, utf8Name)`: the stored
 * name (`<fileSlug(name)><rest>`) with the slug replaced by the export's own spelling. Undefined
 * when there is nothing to add (an ASCII name keeps its plain slug, as it always has) or the file
 * was not named from this export name.
 */
export function unicodeFileName(exportName: string, storedFileName: string): string | undefined {
  const slug = fileSlug(exportName);
  const stem = unicodeFileStem(exportName);
  if (!stem || /^[\x20-\x7e]*$/.test(stem) || !storedFileName.startsWith(slug)) return undefined;
  return stem + storedFileName.slice(slug.length);
}
