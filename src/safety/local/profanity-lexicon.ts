import type { PhraseRule } from './phrase-matcher.js';
import { Tag } from './lexicon-tags.js';

/**
 * Common English profanity. Profanity is a flag, not a harm category: "this fucking build" is
 * profane and harmless. Masked spellings ("f*ck", "sh**") and elongations ("fuuuck") are matched
 * too. Words that are profane only in some senses ("cock", "prick", "screw") are left out or
 * listed only in their unambiguous phrases; mild words ("hell", "bloody") are left out.
 */
export const PROFANITY_LEXICON: readonly PhraseRule[] = [
  {
    tags: [Tag.PROFANITY],
    maskable: true,
    phrases: [
      'fuck{,s,ed,er,ers,ing,in,face,head,wit,off}', 'motherfuck{er,ers,ing}', 'mofo', 'fck', 'fcking', 'fuk', 'fuking',
      'fkn', 'wtf', 'stfu', 'gtfo', 'fml', 'lmfao', 'shit{,s,ty,head,hole,show,storm,post,ting}', 'bullshit',
      'horseshit', 'dipshit', 'shite', 'ass', 'asses', 'asshole{,s}', 'arse', 'arsehole{,s}', 'dumbass', 'jackass',
      'badass', 'smartass', 'asshat', 'bitch{,es,y,ing}', 'son_of_a_bitch', 'bastard{,s}', 'damn', 'dammit', 'damnit',
      'goddamn', 'goddamnit', 'god_damn', 'crap', 'crappy', 'dick{,s,head,heads}', 'cunt{,s}', 'twat{,s}',
      'wanker{,s}', 'bollocks', 'bugger', 'piss', 'pissed', 'pissing', 'piss_off', 'douche', 'douchebag{,s}',
      'slut{,s}', 'whore{,s}', 'cocksucker{,s}', 'tosser', 'bellend', 'knobhead', 'screw_you',
      'suck_my', 'cum', 'jerkoff', 'jerk_off', 'numbnuts', 'shithead', 'butthole', 'skank',
    ],
  },
];
