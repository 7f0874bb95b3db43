import { Tag } from './lexicon-tags.js';
import type { PhraseRule } from './phrase-matcher.js';

/**
 * Insults aimed at the reader ("you're a worthless idiot", "you pathetic loser"). Harassment has
 * no category of its own: like the moderation adapters, the rules judge it under hate, and only
 * when an insult follows an address to the reader (ADDRESSEE) with nothing in between that reports
 * or denies it ("you think I'm stupid", "you called me useless", "you're not useless").
 */
export const HARASSMENT_LEXICON: readonly PhraseRule[] = [
  {
    tags: [Tag.ADDRESSEE],
    phrases: ['you', 'youre', 'you are', 'ur', 'u r', 'are you', 'you were', 'you sound like', 'you look like', 'hey'],
  },
  {
    tags: [Tag.REPORTED],
    phrases: ['me', 'my', 'said', 'say', 'says', 'called', 'call', 'calls', 'told', 'tell', 'think', 'thinks', 'thought', 'feel', 'felt', 'not', 'never'],
  },
  {
    tags: [Tag.INSULT],
    phrases: [
      'idiot{,s}',
      'moron{,s}',
      'imbecile{,s}',
      'loser{,s}',
      'worthless',
      'pathetic',
      'stupid',
      'dumb',
      'dumbest',
      'stupidest',
      'useless',
      'brainless',
      'braindead',
      'brain dead',
      'dense',
      'clueless',
      'incompetent',
      'failure',
      'disgrace',
      'coward',
      'spineless',
      'freak',
      'creep',
      'disgusting',
      'hideous',
      'vile',
      'ugly',
      'fat pig',
      'hag',
      'cow',
      'clown',
      'joke of a man/woman/person',
      'snake',
      'scum',
      'scumbag',
      'trash',
      'garbage',
      'waste of space/oxygen/air',
      'piece of garbage/trash/crap/shit/junk/work',
      'excuse for a/an',
      'snowflake',
      'sheep',
      'annoying',
    ],
  },
];
