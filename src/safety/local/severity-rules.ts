import type { HarmCategory } from '../classifier.js';
import { Tag, TAG_COUNT } from './lexicon-tags.js';
import { LEARNED_MODEL, scoreSentence } from './learned-scorer.js';
import type { PhraseHits } from './phrase-matcher.js';
import { CAPITALISED, NUMERIC, SENTENCE_START, tokenise, type TokenStream } from './text-normaliser.js';

/**
 * Severity rules: lexicon matches (tags at token positions) in, a severity level per harm
 * category out. Levels follow Azure OpenAI's scale as its documentation describes it:
 *
 * - safe: the topic may be present, in general, journalistic, scientific, medical or similar
 *   professional use;
 * - low: prejudiced or opinionated views, offensive language, fiction and games, depictions at
 *   low intensity;
 * - medium: insulting or demeaning language towards groups, seeking harmful instructions,
 *   fantasies, glorification, promotion of harm at medium intensity;
 * - high: explicit harmful instructions, threats, endorsement of severe harm, extreme or illegal
 *   forms of harm.
 *
 * Rules work within a sentence (see text-normaliser.ts for what a sentence is), reading a few
 * facts at token positions: the object after an act verb (within OBJECT_WINDOW tokens), an intent
 * or advocacy ending just before it (INTENT_WINDOW), a first-person subject a little further back
 * (SUBJECT_WINDOW), a negation in between (NEGATION_WINDOW). Framing (fiction, professional)
 * reaches back FICTION_REACH and PROFESSIONAL_REACH sentences.
 */

export const SAFE = 0;
export const LOW = 1;
export const MEDIUM = 2;
export const HIGH = 3;

const OBJECT_WINDOW = 4;
const INTENT_WINDOW = 3;
const SUBJECT_WINDOW = 6;
const NEGATION_WINDOW = 3;
/** Tokens between a group and what is said of it ("immigrants are all ... vermin"). */
const GROUP_WINDOW = 6;
/** Tokens a predicate may come before its group ("filthy immigrants", "deport all immigrants"). */
const GROUP_BEFORE_WINDOW = 3;
const FICTION_REACH = 2;
const PROFESSIONAL_REACH = 1;

// Object classes; a larger number never outranks a longer match (see buildContext).
const NO_OBJECT = 0;
const PERSON = 1;
const YOU = 2;
const SELF = 3;
const THIRD_SELF = 4;
const GROUP = 5;
const GAME = 6;
const THING = 7;
/** A person's body part ("his jaw"): a person, and an act on it is a concrete injury. */
const BODY = 8;

const OBJECT_CLASS = new Uint8Array(TAG_COUNT);
OBJECT_CLASS[Tag.OBJECT_PERSON] = PERSON;
OBJECT_CLASS[Tag.OBJECT_YOU] = YOU;
OBJECT_CLASS[Tag.OBJECT_SELF] = SELF;
OBJECT_CLASS[Tag.OBJECT_THIRD_SELF] = THIRD_SELF;
OBJECT_CLASS[Tag.OBJECT_GROUP] = GROUP;
OBJECT_CLASS[Tag.OBJECT_GAME] = GAME;
OBJECT_CLASS[Tag.OBJECT_THING] = THING;
OBJECT_CLASS[Tag.OBJECT_BODY] = BODY;

/** Severity level (SAFE…HIGH) and whether any of the category's vocabulary was seen. */
export interface CategoryLevel {
  level: number;
  touched: boolean;
}

export type CategoryLevels = Readonly<Record<HarmCategory, Readonly<CategoryLevel>>>;

/** The levels of a text without any category's vocabulary (most texts): shared, frozen. */
const UNTOUCHED: CategoryLevels = Object.freeze({
  hate: Object.freeze({ level: SAFE, touched: false }),
  sexual: Object.freeze({ level: SAFE, touched: false }),
  violence: Object.freeze({ level: SAFE, touched: false }),
  self_harm: Object.freeze({ level: SAFE, touched: false }),
});

const VIOLENCE_TAGS = [
  Tag.VIOLENCE_ACT_LETHAL,
  Tag.VIOLENCE_ACT_HARM,
  Tag.VIOLENCE_WEAPON_SEVERE,
  Tag.VIOLENCE_WEAPON,
  Tag.VIOLENCE_GRAPHIC,
  Tag.VIOLENCE_THREAT_HIGH,
  Tag.VIOLENCE_THREAT_MEDIUM,
  Tag.VIOLENCE_GLORIFY,
  Tag.VIOLENCE_TERROR,
  Tag.VIOLENCE_MENTION,
  Tag.VIOLENCE_INSTRUCTION,
  Tag.VIOLENCE_PASSIVE,
];
const SELF_HARM_TAGS = [
  Tag.SELF_HARM_TERM,
  Tag.SELF_HARM_IDEATION,
  Tag.SELF_HARM_METHOD,
  Tag.SELF_HARM_DOSE,
  Tag.SELF_HARM_ENCOURAGE,
  Tag.SELF_HARM_EATING,
  Tag.SELF_HARM_PREPARATION,
];
const SEXUAL_TAGS = [
  Tag.SEXUAL_ANATOMY,
  Tag.SEXUAL_SLANG,
  Tag.SEXUAL_MILD,
  Tag.SEXUAL_EXPLICIT,
  Tag.SEXUAL_HARDCORE,
  Tag.SEXUAL_SOLICIT,
  Tag.SEXUAL_NONCONSENT,
];
const HATE_TAGS = [
  Tag.HATE_NEGATIVE,
  Tag.HATE_NEGATIVE_CLAIM,
  Tag.HATE_DEHUMANISE,
  Tag.HATE_EXCLUDE,
  Tag.HATE_EXCLUDE_STRONG,
  Tag.HATE_VIOLENT,
  Tag.HATE_STEREOTYPE,
  Tag.HATE_SLUR,
  Tag.INSULT,
];

/** Tags without which a sentence cannot reach any level: sentences with none are skipped. */
const ANCHOR = new Uint8Array(TAG_COUNT);
for (const t of [...VIOLENCE_TAGS, ...SELF_HARM_TAGS, ...SEXUAL_TAGS, ...HATE_TAGS, Tag.SELF_HARM_ACT_LETHAL, Tag.SELF_HARM_ACT_INJURY]) {
  ANCHOR[t] = 1;
}

/** Scratch for TextFacts, grown on demand and reused by every call. */
let tokenScratch = new Uint8Array(0);
let sentenceScratch = new Uint8Array(0);
const TOKEN_ARRAYS = 10;
/** Scratch above this size is given back when a much shorter text follows. */
const RETAIN_BYTES = 1 << 22;
const SENTENCE_ARRAYS = 7;

/** Per-token and per-sentence facts, built once per text from its matches. */
class TextFacts {
  readonly objectAt: Uint8Array;
  readonly objectLength: Uint8Array;
  readonly intentEnd: Uint8Array;
  readonly advocateEnd: Uint8Array;
  readonly firstPerson: Uint8Array;
  readonly negation: Uint8Array;
  readonly copula: Uint8Array;
  readonly wishEnd: Uint8Array;
  readonly ambiguous: Uint8Array;
  readonly accidental: Uint8Array;
  readonly fiction: Uint8Array;
  readonly professional: Uint8Array;
  readonly plan: Uint8Array;
  readonly ideation: Uint8Array;
  readonly group: Uint8Array;
  readonly preparation: Uint8Array;
  readonly quoted: Uint8Array;

  constructor(
    readonly stream: TokenStream,
    readonly hits: PhraseHits,
  ) {
    const n = stream.count;
    const sentences = stream.sentenceCount;
    const tooBig = tokenScratch.length > RETAIN_BYTES && n * TOKEN_ARRAYS < tokenScratch.length >> 3;
    if (tokenScratch.length < n * TOKEN_ARRAYS || tooBig) {
      tokenScratch = new Uint8Array(Math.max(n, 4096) * TOKEN_ARRAYS * 2);
    }
    if (sentenceScratch.length < sentences * SENTENCE_ARRAYS) {
      sentenceScratch = new Uint8Array(Math.max(sentences, 1024) * SENTENCE_ARRAYS * 2);
    }
    tokenScratch.fill(0, 0, n * TOKEN_ARRAYS);
    sentenceScratch.fill(0, 0, sentences * SENTENCE_ARRAYS);
    const perToken = (k: number): Uint8Array => tokenScratch.subarray(k * n, (k + 1) * n);
    const perSentence = (k: number): Uint8Array => sentenceScratch.subarray(k * sentences, (k + 1) * sentences);
    this.objectAt = perToken(0);
    this.objectLength = perToken(1);
    this.intentEnd = perToken(2);
    this.advocateEnd = perToken(3);
    this.firstPerson = perToken(4);
    this.negation = perToken(5);
    this.copula = perToken(6);
    this.wishEnd = perToken(7);
    this.ambiguous = perToken(8);
    this.accidental = perToken(9);
    this.fiction = perSentence(0);
    this.professional = perSentence(1);
    this.plan = perSentence(2);
    this.ideation = perSentence(3);
    this.group = perSentence(4);
    this.preparation = perSentence(5);
    this.quoted = perSentence(6);
    const { count, tag, start, end } = hits;
    for (let h = 0; h < count; h++) {
      const t = tag[h];
      const s = stream.sentence[start[h]];
      const objectClass = OBJECT_CLASS[t];
      if (objectClass !== NO_OBJECT) {
        // The longest object phrase at a token wins ("that man" over "that").
        const length = end[h] - start[h];
        if (length > this.objectLength[start[h]]) {
          this.objectLength[start[h]] = length;
          this.objectAt[start[h]] = objectClass;
        }
      }
      switch (t) {
        case Tag.INTENT:
          this.intentEnd[end[h] - 1] = 1;
          break;
        case Tag.ADVOCATE:
          this.advocateEnd[end[h] - 1] = 1;
          break;
        case Tag.WISH:
          this.wishEnd[end[h] - 1] = 1;
          break;
        case Tag.VIOLENCE_ACT_AMBIGUOUS:
          this.ambiguous[start[h]] = 1;
          break;
        case Tag.VIOLENCE_ACT_ACCIDENTAL:
          this.accidental[start[h]] = 1;
          break;
        case Tag.SELF_HARM_PREPARATION:
          this.preparation[s] = 1;
          break;
        case Tag.FIRST_PERSON:
          this.firstPerson[start[h]] = 1;
          break;
        case Tag.NEGATION:
          for (let k = start[h]; k < end[h]; k++) this.negation[k] = 1;
          break;
        case Tag.COPULA:
          for (let k = start[h]; k < end[h]; k++) this.copula[k] = 1;
          break;
        case Tag.FICTION:
          this.fiction[s] = 1;
          break;
        case Tag.PROFESSIONAL:
          this.professional[s] = 1;
          break;
        case Tag.QUOTED_THREAT:
          this.quoted[s] = 1;
          break;
        case Tag.SELF_HARM_PLAN:
          this.plan[s] = 1;
          break;
        case Tag.SELF_HARM_IDEATION:
        case Tag.OBJECT_SELF:
          this.ideation[s] = 1;
          break;
        case Tag.HATE_GROUP:
        case Tag.OBJECT_GROUP:
          this.group[s] = 1;
          break;
      }
    }
  }

  framedFiction(s: number): boolean {
    for (let k = Math.max(0, s - FICTION_REACH); k <= s; k++) if (this.fiction[k]) return true;
    return false;
  }

  framedProfessional(s: number): boolean {
    for (let k = Math.max(0, s - PROFESSIONAL_REACH); k <= s; k++) if (this.professional[k]) return true;
    return false;
  }

  near(flags: Uint8Array, s: number): boolean {
    return flags[s] === 1 || (s > 0 && flags[s - 1] === 1) || (s + 1 < flags.length && flags[s + 1] === 1);
  }

  /**
   * Object class of the first object within OBJECT_WINDOW tokens from `from`, in sentence `s`.
   * A reflexive ("myself", "yourself") counts only right after the verb: "cut myself", not
   * "cut my hair myself".
   */
  objectAfter(from: number, s: number): number {
    const { sentence, flags, count } = this.stream;
    const limit = Math.min(count, from + OBJECT_WINDOW);
    for (let t = from; t < limit && sentence[t] === s; t++) {
      const object = this.objectAt[t];
      if (object === SELF || object === YOU || object === THIRD_SELF) {
        if (t === from) return object;
        continue;
      }
      // A body part is the act's own object only right after it ("smashed his face", "stomped on
      // her head"), not "slammed the door in his face".
      if (object === BODY && t > from + 1) continue;
      if (object !== NO_OBJECT) return object;
      // An unknown capitalised word mid-sentence is most likely a name ("I will kill Steve").
      const f = flags[t];
      if ((f & CAPITALISED) !== 0 && (f & (SENTENCE_START | NUMERIC)) === 0 && this.hits.known[t] === 0) return PERSON;
    }
    return NO_OBJECT;
  }

  /** Whether `marks` has a token in [at - window, at) within sentence `s`. */
  before(marks: Uint8Array, at: number, window: number, s: number): boolean {
    const sentence = this.stream.sentence;
    for (let t = at - 1; t >= 0 && t >= at - window && sentence[t] === s; t--) if (marks[t]) return true;
    return false;
  }
}

/**
 * Judge every sentence that has matches and keep, per category, the highest level reached.
 */
export function judgeCategories(stream: TokenStream, hits: PhraseHits): CategoryLevels {
  const ruled = judgeByRules(stream, hits);
  const learned = learnedCategories(stream, hits);
  if (learned === 0) return ruled;
  const levels: Record<HarmCategory, CategoryLevel> = {
    hate: { ...ruled.hate },
    sexual: { ...ruled.sexual },
    violence: { ...ruled.violence },
    self_harm: { ...ruled.self_harm },
  };
  for (let c = 0; c < LEARNED_ORDER.length; c++) {
    if ((learned & (1 << c)) === 0) continue;
    // Only where the rules found the category's own vocabulary (self-harm: or a first-person
    // sentence, see learnedCategories): hashed n-grams collide, and on their own they raised
    // unrelated text ("Tell me slowly.", "request 5077 xxxx") to medium.
    if (!ruled[LEARNED_ORDER[c]].touched && c !== SELF_HARM_INDEX) continue;
    const level = levels[LEARNED_ORDER[c]];
    if (level.level < MEDIUM) level.level = MEDIUM;
    level.touched = true;
  }
  return levels;
}

const LEARNED_ORDER: readonly HarmCategory[] = ['hate', 'sexual', 'violence', 'self_harm'];
const logits = new Float64Array(4);
/** Tags whose sentence (and the FICTION_REACH after it) the learned model may not raise. */
const FRAMING = new Uint8Array(TAG_COUNT);
for (const t of [Tag.FICTION, Tag.PROFESSIONAL, Tag.HATE_COUNTER, Tag.HATE_META, Tag.BENIGN]) FRAMING[t] = 1;

/**
 * Categories (bit c for LEARNED_ORDER[c]) that some sentence's learned logit puts at medium or
 * above, among sentences not framed as fiction, news, history, medicine, counter-speech or a
 * question about hate: framing is the rules' to judge, and they lower what it frames.
 */
function learnedCategories(stream: TokenStream, hits: PhraseHits): number {
  const { thresholds } = LEARNED_MODEL;
  const { sentence, count } = stream;
  let mask = 0;
  let from = 0;
  for (let t = 1; t <= count; t++) {
    if (t < count && sentence[t] === sentence[from]) continue;
    scoreSentence(stream, from, t, logits);
    let over = 0;
    for (let c = 0; c < 4; c++) if (logits[c] >= thresholds[c]) over |= 1 << c;
    if ((over & ~mask) === 0 || framed(hits, stream, sentence[from])) {
      from = t;
      continue;
    }
    // A bag of n-grams cannot read "you're not stupid": the hate bit needs an undenied predicate.
    if ((over & HATE_BIT) !== 0 && allPredicatesDenied(hits, stream, sentence[from])) over &= ~HATE_BIT;
    // Self-harm without its vocabulary is read only from a sentence about oneself ("I don't see the point in living").
    if ((over & SELF_HARM_BIT) !== 0 && !sentenceHas(hits, stream, sentence[from], Tag.FIRST_PERSON)) over &= ~SELF_HARM_BIT;
    // Violence needs someone it is done to: a person, a body part or a group in the sentence
    // (documentation that spells out "k.i.l.l" is not violence).
    if ((over & VIOLENCE_BIT) !== 0 && !sentenceHasAny(hits, stream, sentence[from], VICTIM)) over &= ~VIOLENCE_BIT;
    mask |= over;
    from = t;
  }
  return mask;
}

const HATE_BIT = 1 << LEARNED_ORDER.indexOf('hate');
const SELF_HARM_INDEX = LEARNED_ORDER.indexOf('self_harm');
const SELF_HARM_BIT = 1 << SELF_HARM_INDEX;
const VIOLENCE_BIT = 1 << LEARNED_ORDER.indexOf('violence');
const VICTIM = new Uint8Array(TAG_COUNT);
for (const t of [Tag.OBJECT_PERSON, Tag.OBJECT_BODY, Tag.OBJECT_GROUP, Tag.HATE_GROUP, Tag.ADDRESSEE]) VICTIM[t] = 1;

/** Whether sentence `s` has a match tagged `tag`. */
function sentenceHas(hits: PhraseHits, stream: TokenStream, s: number, tag: number): boolean {
  for (let h = 0; h < hits.count; h++) if (hits.tag[h] === tag && stream.sentence[hits.start[h]] === s) return true;
  return false;
}
/** Whether sentence `s` has a match with a tag set in `tags`. */
function sentenceHasAny(hits: PhraseHits, stream: TokenStream, s: number, tags: Uint8Array): boolean {
  for (let h = 0; h < hits.count; h++) if (tags[hits.tag[h]] === 1 && stream.sentence[hits.start[h]] === s) return true;
  return false;
}
/** Tokens a denial may come before what it denies ("nobody here thinks you're a failure"). */
const DENIAL_WINDOW = 5;
/** Insults and what is said of a group: what a denial can take back. */
const PREDICATE = new Uint8Array(TAG_COUNT);
for (const t of [Tag.INSULT, Tag.HATE_NEGATIVE, Tag.HATE_NEGATIVE_CLAIM, Tag.HATE_STEREOTYPE]) PREDICATE[t] = 1;
/** Between a denial and its predicate, these start a new claim ("they are not people, they are …"). */
const RESTART = new Uint8Array(TAG_COUNT);
for (const t of [Tag.HATE_GROUP, Tag.GROUP_REFERENT, Tag.OBJECT_GROUP, Tag.ADDRESSEE]) RESTART[t] = 1;
const DENIES = new Uint8Array(TAG_COUNT);
DENIES[Tag.NEGATION] = 1;
DENIES[Tag.DENIAL] = 1;
const YOU_HASH = tokenise('you').hash[0];

/**
 * Whether sentence `s` says something hateful or insulting only to deny it: it has predicates
 * (insults, claims about a group), and each follows a negation or denial within DENIAL_WINDOW
 * tokens ("you're not stupid", "no one thinks you're a loser", "stop calling yourself a
 * failure", "you are far from stupid"), with no group named in between and not as a direct
 * address ("…, you idiot"). Reassurance is what support talk sounds like; the rules still judge
 * any insult in it that is not denied.
 */
function allPredicatesDenied(hits: PhraseHits, stream: TokenStream, s: number): boolean {
  const { count, tag, start } = hits;
  const sentence = stream.sentence;
  let predicates = 0;
  for (let h = 0; h < count; h++) {
    if (PREDICATE[tag[h]] === 0 || sentence[start[h]] !== s) continue;
    predicates++;
    if (!deniedAt(hits, stream, start[h])) return false;
  }
  return predicates > 0;
}

/** Whether a REPORTED word ("thinks", "calling", "make") ends right before token `at`. */
function reportedBefore(hits: PhraseHits, at: number): boolean {
  for (let h = 0; h < hits.count; h++) if (hits.tag[h] === Tag.REPORTED && hits.end[h] === at) return true;
  return false;
}

/**
 * Whether a predicate at token `at` follows a denial (see allPredicatesDenied). A group or an
 * address after the denial starts a new claim ("you're not smart, you're a loser"), unless a
 * reporting verb introduces it ("no one thinks you're …", "it doesn't make you …").
 */
function deniedAt(hits: PhraseHits, stream: TokenStream, at: number): boolean {
  const { count, tag, start, end } = hits;
  const { sentence, hash } = stream;
  if (at > 0 && hash[at - 1] === YOU_HASH) return false;
  const s = sentence[at];
  for (let d = 0; d < count; d++) {
    if (DENIES[tag[d]] === 0 || sentence[start[d]] !== s || end[d] > at || at - end[d] > DENIAL_WINDOW) continue;
    let restarted = false;
    for (let r = 0; r < count && !restarted; r++) {
      restarted = RESTART[tag[r]] === 1 && start[r] > end[d] && end[r] <= at && !reportedBefore(hits, start[r]);
    }
    if (!restarted) return true;
  }
  return false;
}

function framed(hits: PhraseHits, stream: TokenStream, s: number): boolean {
  for (let h = 0; h < hits.count; h++) {
    if (FRAMING[hits.tag[h]] === 0) continue;
    const at = stream.sentence[hits.start[h]];
    if (at <= s && at >= s - FICTION_REACH) return true;
  }
  return false;
}

function judgeByRules(stream: TokenStream, hits: PhraseHits): CategoryLevels {
  const count = hits.count;
  let anchors = 0;
  for (let h = 0; h < count; h++) anchors += ANCHOR[hits.tag[h]];
  if (anchors === 0) return UNTOUCHED;
  const levels: Record<HarmCategory, CategoryLevel> = {
    hate: { level: SAFE, touched: false },
    sexual: { level: SAFE, touched: false },
    violence: { level: SAFE, touched: false },
    self_harm: { level: SAFE, touched: false },
  };
  const facts = new TextFacts(stream, hits);
  const counts = new Uint16Array(TAG_COUNT);
  const sentence = new Sentence(facts, counts);
  let h = 0;
  while (h < count) {
    const s = stream.sentence[hits.start[h]];
    let e = h;
    let anchored = false;
    while (e < count && stream.sentence[hits.start[e]] === s) {
      const t = hits.tag[e++];
      counts[t]++;
      if (ANCHOR[t] === 1) anchored = true;
    }
    if (anchored) {
      sentence.s = s;
      sentence.from = h;
      sentence.to = e;
      raise(levels.violence, violence(sentence), VIOLENCE_TAGS, counts);
      raise(levels.self_harm, selfHarm(sentence), SELF_HARM_TAGS, counts);
      raise(levels.sexual, sexual(sentence), SEXUAL_TAGS, counts);
      raise(levels.hate, hate(sentence), HATE_TAGS, counts);
    }
    for (let k = h; k < e; k++) counts[hits.tag[k]] = 0;
    h = e;
  }
  return levels;
}

function raise(target: CategoryLevel, level: number, vocabulary: readonly number[], counts: Uint16Array): void {
  if (level > target.level) target.level = level;
  if (!target.touched) for (const t of vocabulary) if (counts[t] > 0) target.touched = true;
}

/**
 * The sentence being judged, and the level its category function has reached. One instance is
 * reused for every sentence of a text, so judging allocates nothing per sentence.
 */
class Sentence {
  /** This sentence's matches are hits [from, to). */
  from = 0;
  to = 0;
  s = 0;
  level = SAFE;

  constructor(
    readonly facts: TextFacts,
    /** Matches per tag in this sentence. */
    readonly counts: Uint16Array,
  ) {}

  has(tag: number): boolean {
    return this.counts[tag] > 0;
  }

  lift(level: number): void {
    if (level > this.level) this.level = level;
  }
}

interface ActReading {
  readonly object: number;
  readonly intent: boolean;
  readonly advocate: boolean;
  /** Wanting it done ("I hope someone shoots him"), not threatening to do it. */
  readonly wish: boolean;
  /** The verb opens its sentence, or follows only "go", "just" …: an order ("Kill him.", "Go cut yourself."). */
  readonly imperative: boolean;
  readonly firstPerson: boolean;
  readonly negated: boolean;
  /** The verb has common harmless senses and needs a person or group as object to count. */
  readonly ambiguous: boolean;
  /** The verb also names accidents to one's own body ("broke his leg skiing"). */
  readonly accidental: boolean;
}

/** Words that may open an order before its verb ("go cut yourself", "just kill him"). */
const ORDER_OPENERS = new Set(['go', 'just', 'now', 'please', 'pls', 'so', 'then', 'and'].map((w) => tokenise(w).hash[0]));

function orderedAfter(stream: TokenStream, at: number): boolean {
  return at > 0 && (stream.flags[at - 1] & SENTENCE_START) !== 0 && stream.sentence[at - 1] === stream.sentence[at] && ORDER_OPENERS.has(stream.hash[at - 1]);
}

function readAct(sentence: Sentence, h: number): ActReading {
  const { facts, s } = sentence;
  const at = facts.hits.start[h];
  return {
    object: facts.objectAfter(facts.hits.end[h], s),
    intent: facts.before(facts.intentEnd, at, INTENT_WINDOW, s),
    advocate: facts.before(facts.advocateEnd, at, INTENT_WINDOW, s),
    wish: facts.before(facts.wishEnd, at, SUBJECT_WINDOW, s),
    imperative: (facts.stream.flags[at] & SENTENCE_START) !== 0 || orderedAfter(facts.stream, at),
    ambiguous: facts.ambiguous[at] === 1,
    accidental: facts.accidental[at] === 1,
    firstPerson: facts.before(facts.firstPerson, at, SUBJECT_WINDOW, s),
    negated: facts.before(facts.negation, at, NEGATION_WINDOW, s),
  };
}

function violence(sentence: Sentence): number {
  const { facts, counts, s } = sentence;
  // A threat someone received, quoted to ask for help or moderation ("he said he'd break my legs,
  // should I report it?"), is told like fiction: low.
  const fiction = facts.framedFiction(s) || facts.near(facts.quoted, s);
  const pro = facts.framedProfessional(s);
  sentence.level = SAFE;

  if (sentence.has(Tag.VIOLENCE_THREAT_HIGH)) sentence.lift(fiction ? LOW : HIGH);
  if (sentence.has(Tag.VIOLENCE_THREAT_MEDIUM)) sentence.lift(fiction ? LOW : MEDIUM);
  if (sentence.has(Tag.VIOLENCE_INSTRUCTION)) sentence.lift(HIGH);
  if (sentence.has(Tag.VIOLENCE_WEAPON_SEVERE)) {
    // Making a bomb is dangerous knowledge whatever the framing; mentioning one is not.
    if (sentence.has(Tag.HOW_TO) && sentence.has(Tag.MAKE)) sentence.lift(HIGH);
    else if (sentence.has(Tag.HOW_TO)) sentence.lift(MEDIUM);
    else if (sentence.has(Tag.MAKE) && sentence.has(Tag.INTENT) && sentence.has(Tag.FIRST_PERSON)) sentence.lift(HIGH);
    else sentence.lift(pro ? SAFE : LOW);
  }
  if (sentence.has(Tag.VIOLENCE_WEAPON)) {
    sentence.lift(sentence.has(Tag.HOW_TO) && sentence.has(Tag.MAKE) ? MEDIUM : pro ? SAFE : LOW);
  }
  if (sentence.has(Tag.VIOLENCE_TERROR)) sentence.lift(sentence.has(Tag.ENDORSE) ? HIGH : pro ? SAFE : LOW);
  // Calls for violence against a group ("… should be wiped out", "death to all …") are incitement.
  const group = facts.group[s] === 1;
  const quoted = (pro || sentence.has(Tag.HATE_COUNTER)) && !sentence.has(Tag.ENDORSE);
  if (sentence.has(Tag.HATE_VIOLENT) && group) sentence.lift(quoted || fiction ? LOW : HIGH);
  if (sentence.has(Tag.VIOLENCE_GLORIFY)) sentence.lift(fiction || quoted ? LOW : group ? HIGH : MEDIUM);
  if (sentence.has(Tag.VIOLENCE_GRAPHIC)) {
    const vivid = counts[Tag.VIOLENCE_GRAPHIC] >= 2 || sentence.has(Tag.VIOLENCE_ACT_LETHAL) || sentence.has(Tag.VIOLENCE_ACT_HARM);
    sentence.lift(vivid ? (pro ? LOW : MEDIUM) : pro ? SAFE : LOW);
  }
  if (sentence.has(Tag.VIOLENCE_MENTION)) sentence.lift(pro ? SAFE : LOW);

  const { tag } = facts.hits;
  // Doing it only to get away or defend oneself ("where should I hit them so I can get away").
  const defensive = sentence.has(Tag.DEFENSIVE);
  const injury = sentence.has(Tag.VIOLENCE_INJURY);
  for (let h = sentence.from; h < sentence.to; h++) {
    if (tag[h] === Tag.VIOLENCE_PASSIVE) {
      sentence.lift(passive(sentence, h, fiction, pro));
      continue;
    }
    if (tag[h] !== Tag.VIOLENCE_ACT_LETHAL && tag[h] !== Tag.VIOLENCE_ACT_HARM) continue;
    const lethal = tag[h] === Tag.VIOLENCE_ACT_LETHAL;
    const act = readAct(sentence, h);
    // Harm to oneself or "yourself" is self-harm's to judge; acts on things are idiom.
    if (act.object === THING || act.object === SELF || act.object === YOU || act.object === THIRD_SELF) continue;
    if (act.object === GAME) {
      sentence.lift(LOW);
      continue;
    }
    const body = act.object === BODY;
    const target = act.object === PERSON || act.object === GROUP || body;
    if (act.ambiguous && !target) continue;
    if (target && !act.negated) {
      if ((act.intent || act.advocate) && act.firstPerson) {
        sentence.lift(fiction || defensive ? LOW : lethal ? HIGH : MEDIUM);
        continue;
      }
      if (act.advocate || act.imperative || act.wish) {
        // Urging violence against a whole group is incitement, whoever says it. Wishing harm on
        // someone, or urging an injury ("someone needs to break his jaw"), is medium.
        const incitement = act.object === GROUP && !act.wish;
        const urged = lethal || act.wish || ((body || injury) && !act.imperative);
        sentence.lift(fiction || defensive ? LOW : incitement ? HIGH : urged ? MEDIUM : LOW);
        continue;
      }
      if (sentence.has(Tag.HOW_TO)) {
        sentence.lift(defensive ? LOW : lethal ? HIGH : MEDIUM);
        continue;
      }
      if (sentence.has(Tag.ENDORSE)) {
        sentence.lift(fiction ? LOW : MEDIUM);
        continue;
      }
    }
    // Described rather than requested: someone killed, or an act with the injury it did ("stabbed
    // him … bleeding", "beat him until he stopped breathing", "smashed his teeth in"), outside
    // news, history, fiction or medicine, is a depiction at medium intensity. A verb that also
    // names accidents ("broke his leg") needs the injury or a weapon told as well.
    const injured = (injury && (target || !act.ambiguous)) || (body && !act.accidental);
    if (!act.negated && !pro && !fiction && !defensive && ((target && lethal) || injured)) {
      sentence.lift(MEDIUM);
      continue;
    }
    sentence.lift(pro || act.negated ? SAFE : LOW);
  }
  return sentence.level;
}

/**
 * An act suffered, told in the passive ("she was stabbed", "I hope he gets hit by a bus"): wished
 * or urged, it is medium; told, it is a depiction, medium when the act has no harmless sense
 * ("murdered", "tortured") or the injury is told ("beaten with chains", "shot in the head"),
 * else low; news, history and fiction lower it, a negation cancels it.
 */
function passive(sentence: Sentence, h: number, fiction: boolean, pro: boolean): number {
  const { facts, s } = sentence;
  const at = facts.hits.start[h];
  if (facts.before(facts.negation, at, NEGATION_WINDOW, s)) return SAFE;
  const wished = facts.before(facts.wishEnd, at, SUBJECT_WINDOW, s) || facts.before(facts.advocateEnd, at, INTENT_WINDOW, s);
  if (wished) return fiction ? LOW : MEDIUM;
  if (pro) return SAFE;
  if (fiction || facts.accidental[at] === 1) return LOW;
  return sentence.has(Tag.VIOLENCE_PASSIVE_LETHAL) || sentence.has(Tag.VIOLENCE_INJURY) ? MEDIUM : LOW;
}

function selfHarm(sentence: Sentence): number {
  const { facts, s } = sentence;
  const fiction = facts.framedFiction(s);
  const pro = facts.framedProfessional(s);
  const plan = facts.near(facts.plan, s) || facts.near(facts.preparation, s);
  const soon = sentence.has(Tag.SELF_HARM_TIME);
  sentence.level = SAFE;

  if (sentence.has(Tag.SELF_HARM_ENCOURAGE)) sentence.lift(fiction ? MEDIUM : HIGH);
  if (sentence.has(Tag.SELF_HARM_METHOD)) sentence.lift(pro ? LOW : HIGH);
  if (sentence.has(Tag.SELF_HARM_DOSE)) {
    const personal = facts.near(facts.ideation, s) || plan || sentence.has(Tag.SELF_HARM_TERM);
    sentence.lift(personal ? HIGH : pro ? LOW : MEDIUM);
  }
  if (sentence.has(Tag.SELF_HARM_EATING)) sentence.lift(sentence.has(Tag.HOW_TO) ? HIGH : pro ? LOW : MEDIUM);
  if (sentence.has(Tag.SELF_HARM_TERM)) sentence.lift(pro ? SAFE : howToRightBefore(sentence, Tag.SELF_HARM_TERM) ? HIGH : LOW);
  if (sentence.has(Tag.SELF_HARM_PREPARATION)) sentence.lift(soon || facts.near(facts.ideation, s) ? HIGH : MEDIUM);

  const { tag, start } = facts.hits;
  for (let h = sentence.from; h < sentence.to; h++) {
    const t = tag[h];
    if (t === Tag.SELF_HARM_IDEATION) {
      if (facts.before(facts.negation, start[h], NEGATION_WINDOW, s)) sentence.lift(LOW);
      // Support and resource text about someone else's thoughts ("if you are thinking about suicide").
      else if (pro && !facts.before(facts.firstPerson, start[h], SUBJECT_WINDOW, s)) sentence.lift(SAFE);
      else if (fiction || pro) sentence.lift(LOW);
      else sentence.lift(plan || soon ? HIGH : MEDIUM);
      continue;
    }
    if (t !== Tag.SELF_HARM_ACT_LETHAL && t !== Tag.SELF_HARM_ACT_INJURY) continue;
    const lethal = t === Tag.SELF_HARM_ACT_LETHAL;
    const act = readAct(sentence, h);
    if (act.object === SELF) {
      if (sentence.has(Tag.HOW_TO)) {
        sentence.lift(HIGH);
        continue;
      }
      if (act.negated) {
        sentence.lift(lethal ? LOW : SAFE);
        continue;
      }
      const wants = act.intent || act.advocate;
      const ongoing = sentence.has(Tag.SELF_HARM_ONGOING);
      let l: number;
      if (lethal) l = wants ? (plan || soon ? HIGH : MEDIUM) : ongoing ? MEDIUM : LOW;
      else l = wants || ongoing ? (plan ? HIGH : MEDIUM) : SAFE;
      sentence.lift(fiction || pro ? Math.min(l, LOW) : l);
    } else if (act.object === YOU && !act.negated) {
      if (lethal || act.advocate || act.imperative) sentence.lift(fiction ? MEDIUM : HIGH);
    } else if (act.object === THIRD_SELF) {
      sentence.lift(lethal && !pro ? LOW : SAFE);
    }
  }
  return sentence.level;
}

/** Whether a HOW_TO ("best way to", "most painless way to") ends right before a `tag` hit: instructions asked for or given. */
function howToRightBefore(sentence: Sentence, tagWanted: number): boolean {
  if (!sentence.has(Tag.HOW_TO)) return false;
  const { tag, start, end } = sentence.facts.hits;
  for (let h = sentence.from; h < sentence.to; h++) {
    if (tag[h] !== tagWanted) continue;
    for (let w = sentence.from; w < sentence.to; w++) if (tag[w] === Tag.HOW_TO && end[w] <= start[h] && start[h] - end[w] <= 1) return true;
  }
  return false;
}

function sexual(sentence: Sentence): number {
  const { facts, s } = sentence;
  const clinical = sentence.has(Tag.SEXUAL_CLINICAL) || facts.framedProfessional(s);
  sentence.level = SAFE;
  const explicit = sentence.has(Tag.SEXUAL_EXPLICIT) || sentence.has(Tag.SEXUAL_HARDCORE) || sentence.has(Tag.SEXUAL_SOLICIT);

  if (sentence.has(Tag.SEXUAL_MINOR)) {
    // Anything sexualising together with a minor is the most severe case there is; clinical
    // anatomy (a paediatric examination, puberty education) is not sexualising.
    const sexualising =
      explicit ||
      sentence.has(Tag.SEXUAL_SEXUALISING) ||
      sentence.has(Tag.SEXUAL_SLANG) ||
      (sentence.has(Tag.SEXUAL_NONCONSENT) && !clinical) ||
      (sentence.has(Tag.SEXUAL_ANATOMY) && !clinical) ||
      (sentence.has(Tag.SEXUAL_MILD) && !clinical);
    if (sexualising) sentence.lift(clinical && !explicit ? MEDIUM : HIGH);
    else if (sentence.has(Tag.SEXUAL_NONCONSENT)) sentence.lift(MEDIUM);
  }
  if (sentence.has(Tag.SEXUAL_HARDCORE)) sentence.lift(HIGH);
  if (sentence.has(Tag.SEXUAL_EXPLICIT)) {
    sentence.lift(sentence.has(Tag.SEXUAL_DETAIL) ? HIGH : clinical ? LOW : MEDIUM);
  }
  if (sentence.has(Tag.SEXUAL_SOLICIT)) sentence.lift(MEDIUM);
  if (sentence.has(Tag.SEXUAL_NONCONSENT)) {
    const detailed = sentence.has(Tag.SEXUAL_DETAIL) && sentence.has(Tag.SEXUAL_MILD);
    if (explicit || sentence.has(Tag.ENDORSE) || detailed) sentence.lift(HIGH);
    else sentence.lift(clinical ? LOW : MEDIUM);
  }
  if (sentence.has(Tag.SEXUAL_SLANG)) {
    sentence.lift(sentence.has(Tag.SEXUAL_MILD) || sentence.has(Tag.SEXUAL_DETAIL) ? MEDIUM : LOW);
  }
  if (sentence.has(Tag.SEXUAL_ANATOMY) && !clinical) {
    const sexualised = sentence.has(Tag.SEXUAL_SEXUALISING) || explicit;
    sentence.lift(sentence.has(Tag.SEXUAL_DETAIL) ? (sexualised ? HIGH : MEDIUM) : LOW);
  }
  if (sentence.has(Tag.SEXUAL_MILD) && !clinical) sentence.lift(sentence.has(Tag.SEXUAL_DETAIL) ? MEDIUM : LOW);
  return sentence.level;
}

function hate(sentence: Sentence): number {
  const { facts, s } = sentence;
  const { tag, start, end } = facts.hits;
  sentence.level = SAFE;
  const groupHere = facts.group[s] === 1;
  const groupRecent = groupHere || (s > 0 && facts.group[s - 1] === 1);
  if (sentence.has(Tag.INSULT) && sentence.has(Tag.ADDRESSEE) && insultsReader(sentence)) sentence.lift(MEDIUM);
  if (!groupRecent && !sentence.has(Tag.HATE_SLUR)) return reported(sentence, sentence.level);

  /**
   * Is hit `h` said of a group? A group (or "they", when a group was named in this sentence or
   * the one before) within GROUP_WINDOW tokens before it, linked by a copula when `copula`
   * ("immigrants are vermin"), or a group right after it ("filthy immigrants", "deport all
   * immigrants").
   */
  const aboutGroup = (h: number, copula: boolean): boolean => {
    for (let g = sentence.from; g < sentence.to; g++) {
      const isGroup = tag[g] === Tag.HATE_GROUP || (tag[g] === Tag.GROUP_REFERENT && groupRecent);
      if (!isGroup || g === h) continue;
      if (end[g] <= start[h]) {
        if (start[h] - end[g] > GROUP_WINDOW) continue;
        if (!copula) return true;
        for (let t = end[g]; t <= start[h]; t++) if (facts.copula[t]) return true;
      } else if (start[g] >= end[h] && start[g] - end[h] <= GROUP_BEFORE_WINDOW) {
        return true;
      }
    }
    return false;
  };

  for (let h = sentence.from; h < sentence.to; h++) {
    switch (tag[h]) {
      case Tag.HATE_DEHUMANISE:
        if (aboutGroup(h, true)) sentence.lift(HIGH);
        break;
      case Tag.HATE_VIOLENT:
      case Tag.HATE_EXCLUDE_STRONG:
        if (aboutGroup(h, false)) sentence.lift(HIGH);
        break;
      case Tag.HATE_EXCLUDE:
      case Tag.HATE_NEGATIVE_CLAIM:
        if (aboutGroup(h, false)) sentence.lift(MEDIUM);
        break;
      case Tag.HATE_NEGATIVE:
        if (aboutGroup(h, true)) sentence.lift(MEDIUM);
        break;
      case Tag.HATE_STEREOTYPE:
        if (aboutGroup(h, false)) sentence.lift(LOW);
        break;
      case Tag.HATE_SLUR: {
        const hostile =
          sentence.has(Tag.HATE_DEHUMANISE) ||
          sentence.has(Tag.HATE_VIOLENT) ||
          sentence.has(Tag.HATE_EXCLUDE) ||
          sentence.has(Tag.HATE_EXCLUDE_STRONG) ||
          sentence.has(Tag.HATE_NEGATIVE) ||
          sentence.has(Tag.VIOLENCE_ACT_LETHAL) ||
          sentence.has(Tag.VIOLENCE_GLORIFY) ||
          sentence.has(Tag.PROFANITY);
        sentence.lift(sentence.has(Tag.HATE_META) && !hostile ? LOW : hostile ? HIGH : MEDIUM);
        break;
      }
      case Tag.VIOLENCE_ACT_LETHAL:
      case Tag.VIOLENCE_ACT_HARM: {
        const act = readAct(sentence, h);
        const urged = act.intent || act.advocate || sentence.has(Tag.GENERALISER);
        if (act.object === GROUP && !act.negated && urged) sentence.lift(HIGH);
        break;
      }
      case Tag.VIOLENCE_GLORIFY:
        if (aboutGroup(h, false)) sentence.lift(HIGH);
        break;
    }
  }
  return reported(sentence, sentence.level);
}

/**
 * Reporting, history and fiction quote hate to describe it (one step down); counter-speech and
 * questions about it quote it to oppose or ask (two steps). Endorsing it ("… was right") is neither.
 */
function reported(sentence: Sentence, level: number): number {
  const { facts, s } = sentence;
  if (level > SAFE && !sentence.has(Tag.ENDORSE)) {
    if (sentence.has(Tag.HATE_COUNTER)) level -= 2;
    else if (facts.framedProfessional(s) || facts.framedFiction(s)) level -= 1;
  }
  return Math.max(level, SAFE);
}

/** Tokens an insult may follow its address ("you are such a pathetic loser"). */
const INSULT_WINDOW = 5;

/**
 * Whether an insult in this sentence is aimed at the reader: it follows an ADDRESSEE within
 * INSULT_WINDOW tokens, with nothing in between that reports or denies it ("you think I'm
 * stupid", "you called me useless", "you're not useless"), and no denial just before it ("no one
 * thinks you're stupid", "you are far from stupid"; see deniedAt).
 */
function insultsReader(sentence: Sentence): boolean {
  const { facts } = sentence;
  const { tag, start, end } = facts.hits;
  for (let h = sentence.from; h < sentence.to; h++) {
    if (tag[h] !== Tag.INSULT || deniedAt(facts.hits, facts.stream, start[h])) continue;
    for (let a = sentence.from; a < sentence.to; a++) {
      if (tag[a] !== Tag.ADDRESSEE || end[a] > start[h] || start[h] - end[a] > INSULT_WINDOW) continue;
      let blocked = false;
      for (let b = sentence.from; b < sentence.to && !blocked; b++) {
        const t = tag[b];
        blocked = (t === Tag.REPORTED || t === Tag.FIRST_PERSON || t === Tag.NEGATION) && start[b] >= end[a] && start[b] < start[h];
      }
      if (!blocked) return true;
    }
  }
  return false;
}
