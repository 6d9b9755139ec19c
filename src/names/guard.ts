// What a DNS query must be before tether does any work for it, judged on its
// raw header: a query (not a response), the QUERY opcode, exactly one question
// and no records but an EDNS OPT, and short. What fails gets a bare header
// (never larger than what came) or, for what is no query at all, nothing.
// The reply to a forged source is then no bigger than the forgery.
import { RCODE } from './answer.js';

/** A UDP query without EDNS may be 512 bytes (RFC 1035). */
const PLAIN_UDP_LIMIT = 512;
/** One question of at most 255 bytes and an OPT record with a few options fit well within this. */
export const QUERY_LIMIT = 1_232;
const HEADER = 12;

/** Which rule a refused query broke: a bounded set, for the metrics. */
export type Rule = 'opcode' | 'questions' | 'records' | 'size';

export type Screened =
  | { readonly kind: 'query' }
  | { readonly kind: 'drop' }
  | { readonly kind: 'refuse'; readonly rule: Rule; readonly reply: Buffer };

export function screen(bytes: Buffer, proto: 'udp' | 'tcp'): Screened {
  // Too short for a header, or a response: no query, and never answered (no reply loops).
  if (bytes.length < HEADER || bytes.readUInt16BE(2) & 0x8000) return { kind: 'drop' };
  if ((bytes.readUInt16BE(2) >> 11) & 0xf) return refuse(bytes, 'NOTIMP', 'opcode');
  const [questions, answers, authorities, additionals = 0] = [4, 6, 8, 10].map((at) => bytes.readUInt16BE(at));
  if (questions !== 1) return refuse(bytes, 'FORMERR', 'questions');
  if (answers !== 0 || authorities !== 0 || additionals > 1) return refuse(bytes, 'FORMERR', 'records');
  const plainUdp = proto === 'udp' && additionals === 0;
  if (bytes.length > (plainUdp ? PLAIN_UDP_LIMIT : QUERY_LIMIT)) return refuse(bytes, 'FORMERR', 'size');
  return { kind: 'query' };
}

/** The query's ID and RD bit, a response flag and the rcode: 12 bytes, whatever the query held. */
function refuse(query: Buffer, rcode: 'FORMERR' | 'NOTIMP', rule: Rule): Screened {
  const reply = Buffer.alloc(HEADER);
  query.copy(reply, 0, 0, 2);
  // QR set; the opcode and RD as asked; the rcode.
  reply.writeUInt16BE(0x8000 | (query.readUInt16BE(2) & 0x7900) | RCODE[rcode], 2);
  return { kind: 'refuse', rule, reply };
}
