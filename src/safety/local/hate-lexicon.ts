import type { PhraseRule } from './phrase-matcher.js';
import { Tag } from './lexicon-tags.js';

/**
 * Hate: statements about protected identity groups. Naming a group is never hateful by itself;
 * the rules look for what is said about it nearby: a negative generalisation (medium),
 * exclusion (medium or high), dehumanisation or calls for violence (high). Counter-speech,
 * reporting and discussion of a term ("the word … is a slur", "the stereotype that …") lower
 * the severity by one step.
 *
 * Groups are matched in plural or collective forms only ("immigrants", "Jewish people"):
 * singular adjectives ("a Mexican restaurant") are too often descriptive to anchor a rule.
 */

export const HATE_LEXICON: readonly PhraseRule[] = [
  {
    tags: [Tag.HATE_GROUP, Tag.OBJECT_GROUP],
    phrases: [
      'muslims', 'muslim_people', 'jews', 'jewish_people', 'christians', 'catholics', 'hindus', 'sikhs', 'buddhists',
      'atheists', 'mormons', 'black_people', 'blacks', 'white_people', 'whites', 'asians', 'asian_people', 'africans',
      'african_americans', 'arabs', 'mexicans', 'latinos', 'latinas', 'latinx', 'hispanics', 'immigrants', 'migrants',
      'refugees', 'foreigners', 'asylum_seekers', 'illegals', 'gays', 'gay_people', 'gay_men', 'lesbians',
      'homosexuals',
      'bisexuals', 'trans_people', 'transgender_people', 'transgenders', 'trans_women', 'trans_men', 'lgbt_people',
      'lgbtq_people', 'queer_people', 'women', 'females', 'men', 'disabled_people', 'the_disabled', 'autistic_people',
      'autistics', 'deaf_people', 'blind_people', 'mentally_ill_people', 'gypsies', 'roma', 'romani_people', 'indians',
      'chinese_people', 'the_chinese', 'japanese_people', 'koreans', 'pakistanis', 'palestinians', 'israelis',
      'iranians', 'irish_people', 'poles', 'russians', 'ukrainians', 'indigenous_people', 'natives', 'native_americans',
      'aboriginals', 'aborigines', 'old_people', 'the_elderly', 'people_of_color', 'people_of_colour', 'minorities',
      'non_whites', 'nonwhites', 'brown_people', 'jewish_men', 'jewish_women', 'muslim_men', 'muslim_women',
      'black_men', 'black_women', 'asian_women', 'asian_men', 'syrians', 'somalis', 'nigerians', 'haitians',
      'filipinos', 'vietnamese_people', 'turks', 'kurds', 'albanians', 'romanians', 'jehovahs_witnesses',
      'transgender_women', 'transgender_men', 'nonbinary_people', 'non_binary_people', 'wheelchair_users',
      'germans', 'the_germans', 'french_people', 'the_french', 'the_irish', 'americans', 'the_british', 'brits',
      'italians', 'mexican_people', 'indian_people', 'japanese_people',
    ],
  },
  {
    // One member of a group, as the object of an act ("shoot every Jew"): enough for a threat,
    // too descriptive ("a Mexican restaurant") to anchor anything else.
    tags: [Tag.OBJECT_GROUP],
    phrases: [
      'muslim', 'jew', 'mexican', 'immigrant', 'refugee', 'migrant', 'arab', 'asian', 'hindu', 'sikh', 'christian',
      'gay_guy', 'gay_man', 'gay_person', 'trans_person', 'black_man', 'black_woman', 'black_guy', 'black_person',
      'foreigner', 'gypsy', 'jewish_guy', 'lesbian',
    ],
  },
  {
    tags: [Tag.COPULA],
    phrases: [
      'are', 'is', 'were', 'was', 'be', 'been', 'being', 'are_nothing_but', 'are_just', 'are_all', 'act_like',
      'acting_like', 'behave_like', 'are_like', 'are_basically', 'are_literally', 'are_simply', 'remain', 'become',
      'are_no_better_than', 'no_better_than', 'are_worse_than', 'arent_even', 'are_not_even', 'are_a', 'is_a',
    ],
  },
  {
    tags: [Tag.GROUP_REFERENT],
    phrases: ['they', 'them', 'those_people', 'these_people', 'their_kind', 'those', 'these'],
  },
  {
    tags: [Tag.HATE_NEGATIVE],
    phrases: [
      'criminals', 'thieves', 'terrorists', 'rapists', 'stupid', 'dumb', 'idiots', 'lazy', 'dirty', 'filthy',
      'disgusting', 'evil', 'inferior', 'worthless', 'useless', 'primitive', 'backwards', 'greedy', 'uneducated',
      'ugly', 'smelly', 'diseased', 'degenerate{,s}', 'freaks', 'mentally_ill', 'perverts', 'pedophiles',
      'paedophiles', 'groomers', 'dangerous', 'liars', 'cheats', 'sneaky', 'unintelligent', 'less_intelligent',
      'genetically_inferior', 'naturally_violent', 'naturally_inferior', 'abominations', 'an_abomination', 'sinful',
      'unnatural', 'sick', 'mentally_deranged', 'delusional', 'pests', 'nothing_but_trouble', 'drug_dealers',
      'welfare_queens', 'moochers', 'leeches', 'a_threat_to', 'not_real_women', 'not_real_men',
    ],
  },
  {
    tags: [Tag.HATE_NEGATIVE_CLAIM],
    phrases: [
      'control/run/own the media/banks/government/world/money/hollywood', 'are_ruining', 'ruin everything',
      'destroying our country/culture/society', 'taking our jobs', 'steal/stealing our jobs/women', 'cant_be_trusted',
      'cannot_be_trusted', 'shouldnt_be_trusted', 'hate', 'despise', 'cant_stand', 'loathe', 'overrunning', 'overrun',
      'taking_over', 'replacing_us', 'incapable_of', 'should_be_ashamed', 'bring_crime', 'bring_drugs', 'to_blame_for',
      'the_problem_with_this_country', 'are_the_problem', 'ruined_this_country', 'are_destroying', 'a_burden',
      'burden_on_society', 'smell_like', 'smell_bad', 'stink', 'belong_in_the_kitchen', 'should stay in the kitchen',
      'belong_at_home',
    ],
  },
  {
    tags: [Tag.HATE_DEHUMANISE],
    phrases: [
      'vermin', 'parasite{,s}', 'cockroach{,es}', 'roaches', 'rats', 'animals', 'beasts', 'apes', 'monkeys',
      'subhuman{,s}', 'sub_human{,s}', 'untermensch', 'savages', 'not human', 'not even human', 'less than human',
      'not people', 'a_plague', 'plague', 'infestation', 'breed like rabbits/rats/animals', 'invaders', 'filth', 'scum',
      'trash', 'garbage', 'human_garbage', 'human_trash', 'a cancer on/in', 'a_disease', 'lice', 'swarm{,s,ing}',
      'mongrels', 'dogs', 'pigs', 'snakes', 'locusts', 'a_virus', 'an_infestation', 'not fully human', 'barbarians',
      'creatures', 'it_not_a_person', 'genetic_waste', 'bottom_feeders',
    ],
  },
  {
    tags: [Tag.HATE_EXCLUDE],
    phrases: [
      'should_be_deported', 'deport_them_all', 'deport_all', 'deport_every', 'go back to',
      'go back where they came from',
      'go back to where', 'send them back', 'send them all back', 'dont belong here', 'do not belong', 'dont belong in',
      'should not be allowed', 'shouldnt be allowed', 'should be banned', 'ban all', 'kick them out', 'get rid of',
      'keep them out', 'should not vote', 'shouldnt vote', 'second_class_citizens', 'segregate{,d}',
      'should be separated', 'should not marry', 'shouldnt marry', 'not welcome', 'no place in', 'have no place',
      'should be fired', 'should not be hired', 'shouldnt be hired', 'close the borders to', 'shouldnt have kids',
      'should not have children', 'should not be allowed to vote/work/marry/adopt/teach/serve',
      'should be kept out', 'refuse to serve',
    ],
  },
  {
    tags: [Tag.HATE_EXCLUDE_STRONG],
    phrases: [
      'dont/do_not deserve rights/to_exist/human_rights/to_be_treated_as_human', 'should have no rights',
      'should not have rights', 'should lose their rights', 'shouldnt have rights', 'should be sterilized',
      'should be sterilised', 'should be locked up', 'should be put in camps', 'concentration camps for',
      'put them in camps', 'should not exist', 'shouldnt exist', 'should be eradicated', 'should be purged',
      'should be removed from society', 'should be rounded up', 'round them up', 'dont deserve to live',
      'hitler_was_right', 'holocaust_was_good', 'holocaust_never_happened', 'holocaust_didnt_happen',
    ],
  },
  {
    tags: [Tag.HATE_VIOLENT],
    phrases: [
      'exterminat{e,ed,ion}', 'wipe_out', 'wipe_them_out', 'wiped_out', 'gas_them', 'gas the', 'lynch',
      'lynching', 'ethnic_cleansing', 'final_solution', 'race_war', 'death_to',
      'hang_them', 'burn_them', 'shoot_them_all', 'should be killed/shot/exterminated/gassed/hanged/lynched',
      'should_die', 'deserve to die', 'day_of_the_rope', 'purge_them', 'cleanse', 'eradicate',
      'finish what hitler started', 'should_have_finished_the_job', 'the_only_good',
      'six_million_wasnt_enough', 'gas_chambers_for', 'into_the_ovens', 'mass_deportation_and_execution',
    ],
  },
  {
    tags: [Tag.HATE_STEREOTYPE],
    phrases: [
      'bad_at', 'good_at', 'bad_drivers', 'cant_drive', 'cannot_drive', 'too_emotional', 'should_stay_home',
      'are_rude', 'so_dramatic', 'are_dramatic', 'drink_too_much', 'always_complain', 'always_complaining',
      'all_look_the_same', 'look_the_same',
      'naturally_better', 'not_as_smart', 'are_cheap', 'are_loud', 'love_money', 'good_with_money', 'hysterical',
      'cant_lead', 'shouldnt_lead', 'are_bossy', 'are_weak', 'throw_like_a_girl', 'run_like_a_girl',
      'cant_take_a_joke', 'always_late', 'are_all_the_same', 'no_sense_of_humor', 'bad_with_technology',
      'are_too_sensitive', 'cant_do_math', 'should_not_work', 'too_aggressive', 'always_complaining', 'all_rich',
      'eat_dogs', 'have_too_many_kids', 'are_terrible_at', 'not_suited_for', 'not_cut_out_for',
    ],
  },
  {
    tags: [Tag.HATE_META],
    phrases: [
      'the_word', 'the_term', 'slur{,s}', 'racial_slur{,s}', 'n_word', 'the_n_word', 'is_offensive', 'derogatory',
      'pejorative', 'reclaimed', 'reclaim{,ing}', 'etymology', 'history_of_the_word', 'why_is_it_offensive',
      'is_it_offensive', 'quote', 'quoting', 'called him/her/me/us/them a', 'used_the_word', 'meaning_of',
      'what_does', 'means',
    ],
  },
  {
    tags: [Tag.HATE_COUNTER],
    phrases: [
      'racism', 'racist', 'racists', 'bigotry', 'bigoted', 'bigot{,s}', 'discrimination', 'discriminate',
      'discriminatory', 'stereotype{,s}', 'stereotyping', 'stereotypical', 'prejudice{,d}', 'its_wrong', 'is_wrong',
      'not all', 'hate_speech', 'antisemitism', 'antisemitic', 'islamophobia', 'islamophobic', 'homophobia',
      'homophobic', 'transphobia', 'transphobic', 'misogyny', 'misogynistic', 'xenophobia', 'xenophobic', 'myth',
      'false', 'debunk{,ed}', 'propaganda', 'harmful', 'unfair', 'hateful', 'equality', 'civil_rights',
      'dehumaniz{e,ing,ation}', 'dehumanis{e,ing,ation}', 'the claim that', 'the idea that', 'the notion that',
      'the belief that', 'trope{,s}', 'conspiracy_theory', 'holocaust', 'apartheid', 'jim_crow', 'nazi{,s}',
      'segregation_era', 'civil_rights_movement', 'hate_crime{,s}', 'extremist_rhetoric', 'so_called',
      'claimed_that', 'argued_that', 'falsely', 'wrongly', 'used_to_say', 'used_to_believe', 'were_told',
      'in_the_1930s', 'in_the_1960s', 'slavery', 'colonial', 'colonialism', 'disinformation', 'misinformation',
      'combat', 'fight_against', 'counter', 'respond_to', 'moderation', 'moderator', 'classifier', 'dataset',
      'example_of', 'examples_of',
    ],
  },
];

/**
 * Slurs, as FNV-1a hashes of their normalised spellings (singular and plural), so that the
 * source does not spell them out. It is a courtesy to readers, not secrecy: the list is short
 * and common words would find the hashes. Each line names the group targeted. Hashes of 32 bits
 * collide with an unrelated word about once per four billion distinct words.
 */
export const HASHED_SLURS: ReadonlyMap<number, number> = new Map(
  [
    // anti-Black (one slur in two spellings, and a second slur; singular and plural)
    0xa4705559, 0x06d6111e, 0xd9eb56dd, 0xbb7973ea, 0xf23e2de2, 0xe8e1bb43,
    // anti-Asian
    0xf6a4b84e, 0x824e0807, 0xf9603045, 0xc86be502,
    // anti-Latino
    0x1414e96a, 0xb5eaf25b, 0x36c9c3b0, 0x029f2bf9, 0xef08753c, 0x9950ab5d,
    // antisemitic
    0xdc08ae09, 0xdbaaaa0e,
    // anti-Arab and anti-Muslim
    0xfd84968f, 0x13b9aeb4, 0xf729446a, 0x2ef6335b,
    // anti-South-Asian
    0x853febae, 0xa0a04ce7,
    // anti-gay
    0x955b3ec5, 0xd4a3b882, 0xb1f8089d, 0x17760eaa,
    // anti-trans
    0x883eef41, 0x7be1c03d,
    // ableist
    0x948002a1, 0x97847096, 0x635b1b38,
  ].map((hash) => [hash, Tag.HATE_SLUR]),
);
