import type { PhraseRule } from './phrase-matcher.js';
import { Tag } from './lexicon-tags.js';

/**
 * Sexual content. Anatomy in a clinical or educational sentence is safe; romance and mild terms
 * are low; erotic or pornographic language and solicitation are medium; explicit acts, requests
 * for graphic detail, and any sexual term together with a minor are high. The vocabulary is the
 * minimum needed to recognise those levels, in clinical spelling where one exists.
 */

const AGES_UNDER_18 =
  '1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/one/two/three/four/five/six/seven/eight/nine/ten/eleven/' +
  'twelve/thirteen/fourteen/fifteen/sixteen/seventeen';

export const SEXUAL_LEXICON: readonly PhraseRule[] = [
  {
    tags: [Tag.SEXUAL_ANATOMY],
    phrases: [
      'penis{,es}', 'vagina{,s}', 'vulva', 'clitoris', 'testicle{,s}', 'scrotum', 'genital{,s}', 'genitalia',
      'breast{,s}', 'nipple{,s}', 'anus', 'buttocks', 'labia', 'erection{,s}', 'ejaculat{e,ed,ion}', 'semen',
      'sperm', 'foreskin', 'cervix', 'pubic', 'groin', 'crotch', 'private_parts',
    ],
  },
  {
    tags: [Tag.SEXUAL_SLANG],
    maskable: true,
    phrases: [
      'dick{,s}', 'cock{,s}', 'pussy', 'pussies', 'tits', 'titties', 'boobs', 'boobies', 'cum', 'jizz', 'boner',
    ],
  },
  {
    tags: [Tag.SEXUAL_MILD],
    phrases: [
      'sex', 'sexuality', 'making_out', 'make_out', 'made_out', 'hookup', 'hook_up', 'hooking_up', 'one_night_stand',
      'in bed together', 'slept together', 'sleep together', 'had sex', 'have sex', 'having sex', 'strip_club',
      'stripper{,s}', 'kissed/kissing passionately', 'passionate_kiss', 'sexual_content', 'strip_poker',
      'sex_life', 'make love', 'making love', 'made love', 'lust', 'sensual', 'cleavage', 'sex_appeal', 'virgin',
      'virginity',
      // Alone, "xxx" is as often a placeholder or a size (xxx-large) as a rating: low, not blocked.
      'xxx',
    ],
  },
  {
    tags: [Tag.SEXUAL_MILD, Tag.SEXUAL_SEXUALISING],
    phrases: [
      'sexy', 'sexual', 'sexually', 'seduc{e,es,ed,ing}', 'seductive', 'undress{,es,ed,ing}', 'seduction', 'naked',
      'nude', 'nudity', 'lingerie',
      'turned_on', 'hot_body', 'sexualize{,d}', 'sexualise{,d}', 'sex_with', 'in_bed_with', 'aroused',
      'arousing', 'arousal',
    ],
  },
  {
    tags: [Tag.SEXUAL_EXPLICIT],
    phrases: [
      'porn', 'porno', 'pornography', 'pornographic', 'hentai', 'erotica', 'erotic', 'orgasm{,s}',
      'masturbat{e,es,ed,ing,ion}', 'foreplay', 'fetish{,es}', 'kinky', 'bdsm', 'bondage', 'dildo{,s}',
      'vibrator{,s}', 'sex_toy{,s}', 'onlyfans', 'sexting', 'sext', 'sex_scene{,s}', 'sex_story', 'sex_stories',
      'touch/touching/play_with/playing_with myself', 'get/got/getting myself off',
      'oral_sex', 'anal_sex', 'intercourse', 'threesome', 'orgy', 'camgirl', 'nsfw',
      'lewd', 'smut', 'smutty', 'x_rated', 'rule_34', 'sexual_fantasy', 'sexual_fantasies', 'sexual_roleplay',
      'erotic_roleplay', 'dirty_talk', 'talk_dirty', 'phone_sex', 'cybersex', 'spank{,ed,ing}', 'penetrat{e,ed,ion}',
      'grind on', 'moan{,s,ed,ing}', 'dick_pic{,s}', 'nudes', 'horny', 'cum', 'sex_act{,s}', 'sexual_act{,s}',
      'sex_tape', 'lap_dance', 'escort', 'prostitut{e,es,ion}', 'hooker', 'sexbot',
    ],
  },
  {
    tags: [Tag.SEXUAL_HARDCORE],
    maskable: true,
    phrases: [
      'blowjob{,s}', 'blow_job{,s}', 'handjob{,s}', 'hand_job{,s}', 'cumshot{,s}', 'deepthroat{,ing}', 'gangbang{,s}',
      'creampie', 'bukkake', 'rimjob',
    ],
  },
  {
    tags: [Tag.SEXUAL_HARDCORE],
    phrases: [
      'fuck/fucked/fucking/fucks her/him/me/them/you hard/raw/senseless', 'fucked/fucking her/him/them',
      'suck/sucked/sucking my/his/your dick/cock', 'ride/riding my/his dick/cock', 'sit on my face',
      'hardcore_porn', 'explicit_sex', 'graphic_sex', 'sex in graphic detail', 'describe the sex',
      'fuck_me', 'cum on/in', 'come inside', 'spread her/his/your legs', 'bend you/her over',
    ],
  },
  {
    tags: [Tag.SEXUAL_DETAIL],
    phrases: [
      'graphic', 'graphically', 'explicit', 'explicitly', 'in_detail', 'detailed', 'vivid', 'vividly', 'step_by_step',
      'every_detail', 'in_full_detail', 'uncensored', 'leave_nothing_out',
      'no_holds_barred', 'very_detailed', 'extremely_detailed', 'hardcore', 'dirty', 'steamy', 'raunchy',
    ],
  },
  {
    tags: [Tag.SEXUAL_SOLICIT],
    phrases: [
      'send [me] nudes', 'send [me] pics', 'send me a pic/pics/photo/photos/picture/pictures of your',
      'show me your body/tits/boobs/dick/pussy/breasts', 'wanna fuck', 'want to fuck', 'lets have sex',
      'have sex with me', 'sleep with me', 'get naked', 'take off your clothes', 'sugar_daddy', 'dtf', 'sext_me',
      'are you horny', 'meet for sex', 'hook up tonight', 'nude pics', 'naked pics', 'naked photos', 'nude photos',
      'pay for sex', 'sex for money', 'touch yourself', 'take your clothes off', 'strip for me', 'strip for us',
      'undress for me', 'on_webcam_naked',
    ],
  },
  {
    tags: [Tag.SEXUAL_MINOR],
    phrases: [
      'child', 'children', 'kid{,s}', 'minor{,s}', 'underage', 'under_age', 'preteen{,s}', 'pre_teen{,s}',
      'toddler{,s}',
      'little_girl{,s}', 'little_boy{,s}', 'schoolgirl{,s}', 'schoolboy{,s}', `${AGES_UNDER_18} year/years/yr/yrs old`,
      `${AGES_UNDER_18} yo`, `${AGES_UNDER_18} year_old/years_old girl/boy/girls/boys`, 'teen', 'teens', 'teenager{,s}',
      'teenage', 'highschooler{,s}', 'middle_schooler{,s}', 'in high/middle/elementary/primary school', 'loli',
      'lolicon', 'shota', 'jailbait', 'young girl{,s}', 'young boy{,s}', 'a_minor', 'minors', 'pupil{,s}',
      'student_under', 'grade_schooler', 'prepubescent', 'pubescent',
    ],
  },
  {
    tags: [Tag.SEXUAL_NONCONSENT],
    phrases: [
      'rap{e,ed,es,ing}', 'rapist{,s}', 'molest{,ed,ing,ation,er,ers}', 'sexual_assault{,s}',
      'sexually_assault{,s,ed,ing}', 'cant/cannot/can_not/unable_to/too_drunk_to consent',
      'grop{e,ed,ing}', 'non_consensual', 'nonconsensual', 'against her/his/their will',
      'without her/his/their consent',
      'drugged her/him', 'roofie{,d}', 'incest', 'forced himself/herself on', 'forced_sex', 'sexual_abuse',
      'sexually_abused', 'revenge_porn', 'deepfake_porn', 'deepfake_nudes', 'upskirt', 'voyeur{,ism}',
      'child_abuse_material', 'csam', 'child_porn', 'child_pornography', 'sex_slave{,s}', 'sexual_slavery',
      'sex_trafficking', 'grooming_a_child', 'groom_a_child',
    ],
  },
  {
    tags: [Tag.SEXUAL_CLINICAL],
    phrases: [
      'doctor', 'doctors', 'gynecologist', 'gynaecologist', 'urologist', 'clinic', 'medical', 'exam', 'examination',
      'symptom{,s}', 'infection{,s}', 'std{,s}', 'sti{,s}', 'hiv', 'hpv', 'contraception', 'contraceptive{,s}',
      'birth_control', 'pregnancy', 'pregnant', 'fertility', 'puberty', 'menstruation', 'cancer', 'screening',
      'pap_smear', 'mammogram', 'biopsy', 'anatomy', 'biology', 'reproductive', 'reproduction', 'sex_education',
      'sex_ed', 'consent_education', 'health', 'healthy', 'diagnosis', 'treatment', 'prostate', 'pelvic',
      'erectile_dysfunction', 'lump', 'rash', 'itching', 'discharge', 'circumcision', 'breastfeeding',
      'sexual_health', 'pediatrician', 'paediatrician', 'nurse', 'physician', 'urology', 'gynecology', 'therapy',
      'therapist', 'hormone{,s}', 'testosterone', 'estrogen', 'oestrogen', 'ovulation', 'ovaries', 'uterus',
      'textbook', 'curriculum', 'lesson', 'clinical', 'patient{,s}', 'surgery', 'injury', 'pain', 'painful',
      'swelling', 'vaccine', 'self_exam', 'cyst', 'ultrasound', 'consent', 'age_appropriate', 'body_safety',
      'safeguarding', 'report', 'reporting', 'survivor{,s}', 'victim{,s}', 'court', 'police', 'convicted',
      'charged', 'sentenced', 'arrested', 'investigation', 'news', 'lawsuit', 'abuse_prevention', 'prevent',
      'protect', 'protecting', 'dermatologist', 'statistics', 'study', 'research', 'art_history', 'museum',
      'sculpture', 'painting', 'renaissance', 'statue', 'classical_art', 'life_drawing', 'figure_drawing', 'training',
      'harassment', 'workplace', 'hr', 'compliance', 'body_parts', 'correct_names', 'anatomically_correct', 'learn',
      'teach', 'teaching', 'parents', 'parenting', 'art', 'artist', 'artwork', 'fresco', 'chapel', 'figures',
      'gallery', 'paintings', 'sculptures', 'classical', 'gender', 'condom{,s}', 'sti_testing', 'std_testing',
    ],
  },
  {
    tags: [Tag.BENIGN],
    phrases: [
      'sexual_orientation', 'same_sex', 'sex_chromosome{,s}', 'sex_of_the_baby', 'sex_differences', 'biological_sex',
      'sex_ratio', 'sex_hormone{,s}', 'sex_determination', 'sex_assigned_at_birth', 'opposite_sex', 'sex_cells',
      'penetration_test{,s,ing}', 'pen_test{,s,ing}', 'pentest', 'market_penetration', 'penetration_rate',
      'breast_cancer', 'breast_milk', 'chicken_breast{,s}', 'turkey_breast{,s}', 'breast_stroke', 'breaststroke',
      'blue_tit{,s}', 'great_tit{,s}', 'pussy_willow{,s}', 'pussy_cat', 'moby_dick', 'spotted_dick', 'dick_van_dyke',
      'kiss_principle', 'kiss_goodbye', 'kiss_of_death', 'kiss_the_ring', 'nude_lipstick', 'nude_color',
      'nude_colour', 'nude_heels', 'nude_shade', 'naked_eye', 'naked_truth', 'strip the', 'comic_strip',
      'strip_mall', 'strip_whitespace', 'strip_off', 'las_vegas_strip', 'strip_mining', 'led_strip',
      'strip_of', 'stripped_down', 'stripped_of', 'python_strip', 'rstrip', 'lstrip', 'escort_mission',
      'police_escort', 'escorted', 'virgin_olive_oil', 'extra_virgin', 'virgin_islands', 'virgin_atlantic',
      'virgin_mary', 'virgin_records', 'explicit_type', 'explicit_content_warning', 'cock_a_doodle', 'weather_cock',
      'stop_cock', 'stopcock', 'moaning_myrtle', 'cum_laude', 'magna_cum_laude', 'summa_cum_laude',
      'master_bedroom', 'bedroom_apartment', 'two_bedroom', 'three_bedroom', 'one_bedroom',
      'kissing_cousins', 'kid_friendly', 'romantic_comedy', 'romance_novel', 'romance_language{,s}',
      'hook_up_the', 'hooked_up_to', 'hook_up_to', 'hook_up_a', 'kids_menu', 'nude_mice',
    ],
  },
];
