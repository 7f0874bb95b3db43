/**
 * The tags lexicon phrases carry. A tag is a fact about a span of text ("a lethal act verb",
 * "a first-person intent", "an identity group"), not a verdict: the severity rules combine tags
 * within a sentence, and with their positions, into a severity per category. Numbers are dense
 * so that per-sentence tag sets are small typed arrays.
 */

let next = 0;
const tag = (): number => next++;

export const Tag = {
  // Context shared by every category.
  /** will, going to, want to, gonna, should, plan to … */
  INTENT: tag(),
  /** should, must, need to, ought to … (urging an act, whoever the subject) */
  ADVOCATE: tag(),
  /** hope, wish, fantasize about … (wanting harm done, not threatening to do it) */
  WISH: tag(),
  /** not, never, dont, wont … (cancels an intent that follows) */
  NEGATION: tag(),
  /** i, we, im, ill … (subject of an intent) */
  FIRST_PERSON: tag(),
  /** you, him, her, them, someone, my wife, the police … (object of an act) */
  OBJECT_PERSON: tag(),
  /** myself, my own life */
  OBJECT_SELF: tag(),
  /** yourself */
  OBJECT_YOU: tag(),
  /** himself, herself, themselves (someone else harming themselves: a mention) */
  OBJECT_THIRD_SELF: tag(),
  /** an identity group as an object ("all the immigrants") */
  OBJECT_GROUP: tag(),
  /** a process, the lights, time, weeds, bacteria … (makes an act verb harmless) */
  OBJECT_THING: tag(),
  /** his jaw, your kneecaps, that guy's face … (a person's body part as the object of an act) */
  OBJECT_BODY: tag(),
  /** a dragon, zombies, the final boss … (game violence: low at most) */
  OBJECT_GAME: tag(),
  /** story, novel, character, video game, film … */
  FICTION: tag(),
  /** self-defence, an attacker, so I can get away … (violence one means to do only to escape or defend) */
  DEFENSIVE: tag(),
  /** he said he'd, threatened to, should I report this … (a threat received, quoted to ask for help) */
  QUOTED_THREAT: tag(),
  /** news, history, study, patients, police said, prevention … */
  PROFESSIONAL: tag(),
  /** an idiom whose words would otherwise match ("killer feature", "kill -9") */
  BENIGN: tag(),
  /** how to, step by step, instructions, recipe … */
  HOW_TO: tag(),
  /** make, build, assemble, synthesize … */
  MAKE: tag(),
  /** praise or approval: hero, justified, deserved it, admire … */
  ENDORSE: tag(),
  /** for all of them, every, those people */
  GENERALISER: tag(),
  /** are, is, were, act like … (links a group to what is said of it) */
  COPULA: tag(),
  /** they, them, those people (a group named in this or the previous sentence) */
  GROUP_REFERENT: tag(),

  // Violence.
  VIOLENCE_ACT_LETHAL: tag(),
  VIOLENCE_ACT_HARM: tag(),
  /** marks an act verb with common harmless senses ("shoot a video", "hang the picture") */
  VIOLENCE_ACT_AMBIGUOUS: tag(),
  /** marks an act verb that also names everyday accidents to one's own body ("broke his leg skiing", "cut her finger") */
  VIOLENCE_ACT_ACCIDENTAL: tag(),
  /** was beaten, gets hit by, got stabbed … (an act suffered, told in the passive voice) */
  VIOLENCE_PASSIVE: tag(),
  /** was murdered, got stabbed, was tortured … (a passive act with no harmless sense) */
  VIOLENCE_PASSIVE_LETHAL: tag(),
  VIOLENCE_WEAPON_SEVERE: tag(),
  VIOLENCE_WEAPON: tag(),
  VIOLENCE_GRAPHIC: tag(),
  VIOLENCE_THREAT_HIGH: tag(),
  VIOLENCE_THREAT_MEDIUM: tag(),
  VIOLENCE_GLORIFY: tag(),
  VIOLENCE_TERROR: tag(),
  VIOLENCE_MENTION: tag(),
  VIOLENCE_INSTRUCTION: tag(),
  /** bleeding, skull, stopped breathing, her body, with a hammer, seventeen times … (the injury an act did or what it was done with: a description, not a mention) */
  VIOLENCE_INJURY: tag(),

  // Self-harm.
  SELF_HARM_TERM: tag(),
  SELF_HARM_IDEATION: tag(),
  SELF_HARM_PLAN: tag(),
  /** preparations that only make sense for suicide ("wrote my suicide note", "stockpiling pills") */
  SELF_HARM_PREPARATION: tag(),
  /** tonight, tomorrow … (makes a stated intent concrete) */
  SELF_HARM_TIME: tag(),
  SELF_HARM_METHOD: tag(),
  SELF_HARM_DOSE: tag(),
  SELF_HARM_ENCOURAGE: tag(),
  SELF_HARM_EATING: tag(),
  SELF_HARM_ACT_LETHAL: tag(),
  SELF_HARM_ACT_INJURY: tag(),
  SELF_HARM_ONGOING: tag(),

  // Sexual.
  SEXUAL_ANATOMY: tag(),
  SEXUAL_SLANG: tag(),
  SEXUAL_MILD: tag(),
  SEXUAL_EXPLICIT: tag(),
  SEXUAL_HARDCORE: tag(),
  SEXUAL_DETAIL: tag(),
  SEXUAL_SOLICIT: tag(),
  SEXUAL_MINOR: tag(),
  SEXUAL_SEXUALISING: tag(),
  SEXUAL_NONCONSENT: tag(),
  SEXUAL_CLINICAL: tag(),

  // Hate.
  HATE_GROUP: tag(),
  HATE_NEGATIVE: tag(),
  /** a negative claim that carries its own verb ("control the media", "are ruining") */
  HATE_NEGATIVE_CLAIM: tag(),
  HATE_DEHUMANISE: tag(),
  HATE_EXCLUDE: tag(),
  HATE_EXCLUDE_STRONG: tag(),
  HATE_VIOLENT: tag(),
  HATE_STEREOTYPE: tag(),
  HATE_META: tag(),
  HATE_COUNTER: tag(),
  HATE_SLUR: tag(),
  /** you, you're, are you … (the reader addressed; harassment) */
  ADDRESSEE: tag(),
  /** idiot, worthless, waste of space … (an insult; harassment when aimed at the reader) */
  INSULT: tag(),
  /** me, said, called, think, not … (between an address and an insult: reported or denied) */
  REPORTED: tag(),
  /** far from, you're no … (with NEGATION: what follows is denied, "you are far from stupid") */
  DENIAL: tag(),

  // Prompt attacks (jailbreak in the prompt, indirect attack in documents).
  ATTACK_OVERRIDE: tag(),
  ATTACK_IGNORE_VERB: tag(),
  ATTACK_PRIOR_RULES: tag(),
  ATTACK_PERSONA: tag(),
  ATTACK_UNRESTRICTED: tag(),
  ATTACK_UNRESTRICTED_WEAK: tag(),
  ATTACK_ROLEPLAY: tag(),
  ATTACK_EXTRACT: tag(),
  ATTACK_SYSTEM_PROMPT: tag(),
  ATTACK_REVEAL: tag(),
  ATTACK_ENCODED: tag(),
  ATTACK_EXECUTE: tag(),
  ATTACK_REFUSAL_SUPPRESSION: tag(),
  ATTACK_POLICY: tag(),
  ATTACK_ADDRESS_MODEL: tag(),
  ATTACK_INJECTED_INSTRUCTION: tag(),
  ATTACK_EXFILTRATE_VERB: tag(),
  ATTACK_EXFILTRATE_OBJECT: tag(),
  ATTACK_STEALTH: tag(),

  // Profanity.
  PROFANITY: tag(),
} as const;

export const TAG_COUNT = next;
