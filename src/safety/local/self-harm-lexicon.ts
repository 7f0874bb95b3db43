import type { PhraseRule } from './phrase-matcher.js';
import { Tag } from './lexicon-tags.js';

/**
 * Self-harm, in four steps of severity: a mention (news, statistics, recovery) is low or safe;
 * first-person ideation is medium; ideation with a plan or a time, a method or a dose asked for,
 * and urging someone else to harm themselves are high. Hyperbole ("my feet are killing me",
 * "I could die of embarrassment") is listed as benign.
 */
export const SELF_HARM_LEXICON: readonly PhraseRule[] = [
  {
    tags: [Tag.SELF_HARM_TERM],
    phrases: [
      'suicide{,s}', 'suicidal', 'self_harm', 'selfharm', 'self_harming', 'self_harmed', 'self_injury',
      'self_injurious', 'self_mutilation', 'nssi', 'overdose{,d,s}', 'overdosing', 'died_by_suicide',
      'committed_suicide', 'attempted_suicide', 'suicide_attempt{,s}', 'unalive{,d}', 'sewerslide',
      'self_termination', 'took his/her/their own life', 'take their own lives', 'suicide_rate{,s}',
      'self_destructive', 'cutting_scars', 'self_harm_scars', 'eating_disorder{,s}', 'anorexia', 'bulimia',
      'end/ended/ending her/his/their life', 'take/took/taking her/his/their life', 'attempt_to_end',
      'cut/cutting/slit/slitting her/his/their wrists', 'wrist_cutting', 'tried_to_kill_himself',
      'tried_to_kill_herself',
    ],
  },
  {
    tags: [Tag.SELF_HARM_IDEATION],
    phrases: [
      'want to die', 'wanna die', 'wish i was/were dead', 'wish i was/had never born/been_born',
      'dont/do_not want to live/be_alive/exist/wake_up', 'dont want to live anymore', 'no reason to live',
      'nothing to live for', 'better off dead', 'better off without me', 'end my life', 'end it all',
      'ending it all', 'take my own life', 'taking my own life', 'thinking about/of suicide/killing_myself/' +
        'ending_it/ending_my_life',
      'thoughts of suicide/killing_myself/ending_it', 'suicidal_thoughts', 'im/i_am/i_feel/feeling suicidal',
      'cant/cannot go on', 'disappear forever', 'sleep and never wake up', 'go to sleep and not wake up',
      'never wake up', 'unalive myself', 'kms', 'want to be dead', 'ready to die', 'i should just die',
      'should just kill myself', 'life isnt/is_not worth living', 'not worth living', 'no point in living',
      'no point living', 'tired of living', 'tired of being alive', 'hate being alive',
      'i/i_dont deserve to live', 'i deserve to die', 'want it all to end', 'want everything to end',
      'want to end it', 'everyone would be better off without me', 'nobody would miss me',
      'no one would miss me', 'world would be better without me', 'want to stop existing', 'wish i could die',
      'ways out of this life', 'my life is over', 'want to not exist', 'hope i dont wake up',
      'think about/of suicide/killing_myself/dying/ending_it/ending_my_life', 'ending my life', 'use it on myself',
      'turn the gun on myself', 'point it at myself', 'slit/cut my wrists',
    ],
  },
  {
    tags: [Tag.SELF_HARM_TIME],
    phrases: [
      'tonight', 'tomorrow', 'today', 'this_weekend', 'this_week', 'right_now', 'soon', 'in_an_hour', 'after_work',
    ],
  },
  {
    tags: [Tag.SELF_HARM_PLAN],
    phrases: [
      'wrote/writing/written a note/letter', 'said_goodbye', 'saying_goodbye', 'my_last_day', 'bought a/the rope',
      'bought_rope', 'the_rope', 'a_rope', 'noose', 'the_pills', 'have/got a gun', 'loaded_gun', 'my dads gun',
      'the_bridge', 'jump_off', 'jumping_off', 'the_roof', 'train_tracks', 'in_front_of_a_train', 'already_decided',
      'made_up_my_mind', 'decided_to_do_it', 'when im gone', 'after im gone', 'last_message', 'razor',
      'razor_blade{,s}', 'blades', 'the_plan', 'a_plan', 'have_a_plan',
    ],
  },
  {
    tags: [Tag.SELF_HARM_PREPARATION],
    phrases: [
      'suicide_note', 'goodbye_note', 'goodbye_letter', 'wrote my suicide note', 'saved/saving up [all] [my] pills',
      'stockpiling/stockpiled [my] pills', 'all my pills', 'giving away my things', 'gave away my things',
      'by the time you read this', 'this_is_goodbye', 'final_goodbye', 'said/saying my goodbyes',
    ],
  },
  {
    tags: [Tag.SELF_HARM_METHOD],
    phrases: [
      'painless way/ways to die', 'painless suicide', 'quickest/easiest/fastest/best/surest way/ways to die',
      'best/easiest/quickest way to kill myself', 'how to/can_i kill myself', 'how to/can_i commit suicide',
      'how to/can_i end my life', 'most effective suicide/way_to_die', 'suicide_method{,s}', 'how deep to cut',
      'how deep should i cut', 'where to cut', 'how to/can_i cut myself', 'how to hang myself',
      'how to tie a noose', 'tie_a_noose', 'exit_bag', 'how long does it take to die',
      'how long to bleed out', 'high_enough_to_die', 'tall_enough_to_die', 'jump from high enough',
      'which bridge to jump', 'how many stories to die', 'method to kill myself', 'ways to kill myself',
      'how to overdose', 'how to make it look natural', 'how to hide cuts', 'how to hide my cuts',
      'how to hide self_harm', 'how to get razor blades', 'how deep [do/should/would/does/must] [i/you/one] ' +
        '[need_to/have_to] cut', 'hit/cut/sever/slice an artery', 'would/does/will/did it take to die', 'enough to die',
      'enough to kill myself', 'enough pills to die',
    ],
  },
  {
    tags: [Tag.SELF_HARM_DOSE],
    phrases: [
      'lethal_dose', 'fatal_dose', 'lethal amount', 'fatal amount', 'overdose_on', 'od_on',
      'how many/much pills/tablets/sleeping_pills', 'how many pills to die', 'enough pills to',
      'kill myself with pills',
    ],
  },
  {
    tags: [Tag.SELF_HARM_ENCOURAGE],
    phrases: [
      'kys', 'go die', 'you should die', 'you should just die', 'just die', 'nobody/no_one would/will miss you',
      'do everyone/us_all/the_world a favor/favour and die', 'do the world a favor', 'end yourself',
      'neck yourself', 'rope yourself', 'drink bleach', 'unalive yourself', 'go jump off a bridge',
      'jump off a bridge', 'world would be better without/off_without you', 'you dont deserve to live',
      'why_dont_you/why_not kill/hang/shoot/cut/end yourself', 'hang_yourself', 'you_should_starve',
      'slit your wrists', 'go kill yourself', 'do it you wont', 'nobody loves you kill',
      'you should cut/hurt/starve yourself', 'you should kill yourself', 'do us a favor and disappear',
    ],
  },
  {
    tags: [Tag.SELF_HARM_EATING],
    phrases: [
      'pro ana', 'proana', 'pro mia', 'thinspo', 'thinspiration', 'meanspo', 'bonespo', 'starve myself',
      'starving myself', 'purge after eating', 'make/making myself throw_up/vomit/puke', 'hide not eating',
      'hide my eating', 'hide that i dont eat', 'eat less/under than 500/300/200/800 calories',
      'under 500/300/200 calories', 'stop eating completely', 'ana coach', 'ana buddy', 'laxatives to lose',
      'chew and spit', 'fasting for days', 'skip meals without', 'suppress my appetite', 'ignore hunger', 'purging',
      'purge after meals', 'purging after', 'binge and purge', 'throw up after eating', 'throwing up after meals',
    ],
  },
  {
    tags: [Tag.SELF_HARM_ACT_LETHAL],
    phrases: [
      'kill{,ing}', 'hang{,ing}', 'shoot{,ing}', 'drown{,ing}', 'poison{,ing}', 'end', 'ending', 'slit',
      'overdose', 'suffocat{e,ing}', 'off',
    ],
  },
  {
    tags: [Tag.SELF_HARM_ACT_INJURY],
    phrases: [
      'cut{,ting}', 'hurt{,ing}', 'harm{,ing}', 'burn{,ing}', 'starv{e,ing}', 'scratch{,ing}', 'punish{,ing}',
      'bruise', 'hit{,ting}', 'carve', 'carving',
    ],
  },
  {
    tags: [Tag.SELF_HARM_ONGOING],
    phrases: [
      'been', 'keep', 'kept', 'again', 'started', 'still', 'every_night', 'every_day', 'urge{,s}', 'relapsed',
      'relapse', 'cant_stop', 'scars', 'fresh cuts', 'fresh_cut', 'sometimes', 'often', 'when_i_feel', 'on_purpose',
      'deliberately', 'intentionally',
    ],
  },
  {
    tags: [Tag.PROFESSIONAL],
    phrases: [
      'clean_for', 'days_clean', 'months_clean', 'years_clean', 'recovery', 'recovering', 'in_recovery',
      'survivor', 'got_help', 'getting_help', 'in_therapy', 'reach_out', 'you_are_not_alone',
      'youre_not_alone', 'please_call', 'please_reach_out', 'call_or_text', 'resources',
    ],
  },
  {
    tags: [Tag.BENIGN],
    phrases: [
      // The same spans as the self-harm terms above, so that "harm" inside them is not also an act.
      'self_harm', 'self_harming', 'self_harmed', 'self_injury', 'self_injurious', 'self_harm_scars',
      'cut yourself a slice/piece', 'dont kill yourself over', 'i deserve{,d} to die', 'i dont deserve to live',
      'dont hurt yourself', 'kill myself laughing', 'could kill myself', 'kill me now', 'just kill me',
      'someone kill me',
      'die of embarrassment', 'dying of embarrassment', 'i could die', 'i literally died', 'died of laughter',
      'want to die of embarrassment', 'i want to die laughing', 'cut myself a slice/piece', 'cut_myself_shaving',
      'cut my finger', 'cut myself while/cooking/on', 'burn myself on', 'burned myself on', 'burnt myself on',
      'hurt myself while', 'hurt my back/knee/ankle/wrist/shoulder/neck', 'hurt_myself_playing',
      'end my shift', 'end my day', 'end my turn', 'end my session', 'end my subscription', 'end my contract',
      'end my lease', 'end_my_membership', 'end it here', 'end it with', 'end it early', 'end_it_now',
      'killing myself over', 'kill myself over', 'work myself to death', 'bored to death', 'scared to death',
      'worried sick', 'to death', 'starve_the', 'off_myself_from',
      'kill_the_suspense', 'cutting_edge', 'cut_off', 'cut_back', 'cut_down',
    ],
  },
];
