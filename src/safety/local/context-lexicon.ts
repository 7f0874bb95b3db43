import type { PhraseRule } from './phrase-matcher.js';
import { Tag } from './lexicon-tags.js';

/**
 * Context shared by every category: who acts (first person), with what intent, on whom or what
 * (a person, oneself, a process), and how the text frames it (fiction, news, medicine). The
 * severity rules read these around the category terms; on their own they classify nothing.
 */

const RELATIONS =
  'wife/husband/boss/teacher/mom/mum/mother/dad/father/brother/sister/son/daughter/family/neighbor/' +
  'neighbour/neighbors/neighbours/friend/friends/coworker/coworkers/colleague/colleagues/roommate/ex/' +
  'girlfriend/boyfriend/classmate/classmates/students/principal/landlord/cousin/uncle/aunt/grandma/' +
  'grandpa/parents/partner/manager/supervisor/baby/kids/children/stepdad/stepmom/bully/bullies';

/** "in 1944", "by 1066": a year before 2000 frames a sentence as history. */
const YEARS_1000_TO_1999 = Array.from({ length: 1000 }, (_, k) => String(1000 + k)).join('/');

export const CONTEXT_LEXICON: readonly PhraseRule[] = [
  {
    tags: [Tag.INTENT],
    phrases: [
      'will', 'shall', 'gonna', 'wanna', 'gon', 'finna', 'tryna', 'going_to', 'want_to', 'wants_to',
      'wanted_to', 'plan_to', 'planning_to', 'planned_to', 'about_to', 'intend_to', 'intending_to',
      'would_love_to', 'ready_to', 'trying_to', 'decided_to', 'wish_i_could', 'am_gonna', 'cant_wait_to',
      'swear_to_god', 'i_swear',
    ],
  },
  { tags: [Tag.INTENT, Tag.FIRST_PERSON], phrases: ['ill', 'lets', 'let_us', 'id_love_to', 'imma', 'ima'] },
  {
    tags: [Tag.ADVOCATE],
    phrases: [
      'should', 'must', 'need_to', 'needs_to', 'have_to', 'has_to', 'gotta', 'ought_to', 'someone_should',
      'somebody_should', 'somebody_needs_to', 'someone_needs_to', 'deserve_to', 'deserves_to',
    ],
  },
  {
    tags: [Tag.WISH],
    phrases: [
      'hope', 'hoping', 'i_hope', 'wish', 'i_wish', 'fantasize_about', 'fantasise_about', 'fantasize_of',
      'dream_of', 'dream_about', 'would_love_to_see', 'id_love_to_see', 'cant_wait_to_see', 'pray_that',
      'praying_that', 'hope_someone', 'wish_someone',
    ],
  },
  {
    tags: [Tag.NEGATION],
    phrases: [
      'not', 'never', 'dont', 'do_not', 'wont', 'will_not', 'wouldnt', 'would_not', 'cant', 'cannot',
      'can_not', 'didnt', 'did_not', 'doesnt', 'isnt', 'aint', 'shouldnt', 'mustnt', 'nobody', 'no_one',
      'refuse_to', 'no_longer', 'stop', 'stopped', 'less_likely',
    ],
  },
  { tags: [Tag.FIRST_PERSON], phrases: ['i', 'im', 'id', 'ive', 'we', 'weve', 'wed', 'myself_and', 'me_and'] },
  {
    tags: [Tag.OBJECT_PERSON],
    phrases: [
      'you', 'u', 'ya', 'yall', 'him', 'her', 'them', 'us', 'someone', 'somebody', 'anyone', 'anybody',
      'everyone', 'everybody', 'people', 'a_person', 'person', 'whoever', 'strangers', 'civilians',
      'innocent_people', 'innocents', 'hostages', 'pedestrians', 'all_of_you', 'each_of_you',
      'every_one_of_you', 'every/each/all/some/one/any/most/many/both one_of/of them/those/these/you/us',
      'those_people', 'these_people', 'cops', 'a_cop', 'the_cops', 'police',
      'police_officers', 'officers', 'the_president', 'president', 'the_senator', 'politicians', 'the_judge',
      'a/the/that/this/some man/woman/guy/girl/boy/kid/child/baby/lady/dude/bitch/bastard/senator/cop/officer/' +
        'teacher/judge/politician/president/mayor/governor/congressman/priest/imam/rabbi/pastor/doctor/nurse/boss/' +
        'neighbor/neighbour/kid/student/journalist/reporter/referee/ref/cashier/driver/landlord/protester/' +
        'protesters/manager/guard/clerk/witness/snitch/traitor/idiot/moron/loser/prick/asshole/pig',
      'boss',
      'my/his/her/your/our/their/the/that ' + RELATIONS,
      'kids', 'children', 'babies', 'classmates', 'students', 'teachers', 'coworkers', 'my_enemies',
      'his_enemies',
    ],
  },
  { tags: [Tag.OBJECT_SELF], phrases: ['myself', 'my_self', 'my_own_life', 'my_life', 'ourselves'] },
  {
    tags: [Tag.OBJECT_THIRD_SELF],
    phrases: ['himself', 'herself', 'themselves', 'themself', 'his_own_life', 'her_own_life'],
  },
  { tags: [Tag.OBJECT_YOU], phrases: ['yourself', 'urself', 'your_self', 'yourselves', 'yo_self', 'your_own_life'] },
  {
    tags: [Tag.OBJECT_THING],
    phrases: [
      '[the/a/that/this/all/your/my] process/processes/task/tasks/job/jobs/pid/pids/thread/threads/server/' +
        'servers/service/services/daemon/daemons/container/containers/pod/pods/session/sessions/connection/' +
        'connections/query/queries/app/apps/application/applications/program/programs/script/scripts/tab/' +
        'tabs/window/windows/command/terminal/shell/switch/signal/worker/workers/instance/instances/vm/node',
      'it', 'that', 'this', 'time', '[the] lights', '[the] engine', '[the] motor', '[the] power',
      '[the] bug/bugs/bacteria/germs/virus/viruses/weeds/mold/mould/pests/mosquitoes/mosquitos/flies/' +
        'ants/fleas/lice/ticks/termites/mice/cells/tumor/tumour/infection/fungus/algae/pathogens',
      'cancer_cells', 'the_cancer', '[a/the/all/any/every] zombie/orphan/child/parent/background/stuck/hung ' +
        'process/processes/thread/threads/job/jobs/task/tasks',
      '[the] branch/feature/build/deal/bill/proposal/plan/project/idea/mood/' +
        'vibe/battery/buzz/noise/music/conversation/momentum/competition/budget/joke/pain/smell/odor/' +
        'odour/appetite/hunger/boredom/fire/flame/flames/exam/test/interview/presentation/audition/' +
        'workout/set/show/performance/game/stage/chances/dream/dreams/hope/hopes/enthusiasm/rumor/rumour/' +
        'story/lead/messenger/beat/track/song/dance/look/outfit',
      'a_bottle', 'the_bottle', 'two_birds', 'the_pizza', 'that_pizza', 'my_darlings', 'your_darlings',
    ],
  },
  {
    tags: [Tag.OBJECT_GAME],
    phrases: [
      '[the/a/that/this/all/those/these/every] dragon/dragons/bosses/final_boss/monster/monsters/' +
        'zombie/zombies/enemy/enemies/orc/orcs/goblin/goblins/demon/demons/alien/aliens/npc/npcs/mob/mobs/' +
        'creeper/creepers/creeps/vampire/vampires/werewolf/werewolves/skeleton/skeletons/troll/trolls/' +
        'minion/minions/bandit/bandits/villain/villains/undead/boss_fight/raid_boss/opponent/opponents/' +
        'bots/champion/ghosts/robots/invaders',
    ],
  },
  {
    tags: [Tag.FICTION],
    phrases: [
      'story', 'stories', 'short_story', 'novel', 'novels', 'fiction', 'fictional', 'fanfic', 'fan_fiction',
      'fanfiction', 'character', 'characters', 'villain', 'protagonist', 'antagonist', 'plot', 'chapter',
      'screenplay', 'movie', 'movies', 'film', 'films', 'tv_show', 'episode', 'anime', 'manga', 'comic',
      'comics', 'poem', 'poetry', 'lyrics', 'novelist', 'in_the_book', 'in_my_book', 'once_upon_a_time',
      'game', 'games', 'video_game', 'videogame', 'gameplay', 'player', 'players', 'level', 'quest', 'rpg',
      'mmo', 'pvp', 'dnd', 'dungeons_and_dragons', 'minecraft', 'fortnite', 'call_of_duty', 'skyrim', 'zelda',
      'dark_souls', 'elden_ring', 'halo', 'gta', 'grand_theft_auto', 'thriller', 'horror', 'murder_mystery',
      'whodunit', 'detective', 'sci_fi', 'dystopian', 'narrator', 'the_hero', 'game_of_thrones',
      'star_wars', 'harry_potter', 'batman', 'lord_of_the_rings', 'shakespeare', 'hamlet', 'macbeth',
      'romeo_and_juliet', 'myth', 'mythology', 'fairy_tale', 'legend_of', 'playthrough', 'speedrun',
      'campaign_setting', 'dungeon_master', 'tabletop', 'board_game', 'chess', 'mafia_game', 'werewolf_game',
      'in_the_show', 'in_the_series', 'season_finale', 'script_for', 'a_scene', 'this_scene', 'the_scene',
      'my_book', 'opera', 'stage_play', 'musical', 'cartoon', 'superhero', 'superheroes', 'song', 'songs',
      'album', 'rap_lyrics', 'music_video', 'screenwriter', 'in_the_film', 'in_the_movie', 'boxer', 'boxing',
      'wrestler', 'wrestling', 'mma', 'ufc', 'knight', 'samurai', 'gladiator{,s}', 'warrior{,s}', 'arena',
    ],
  },
  {
    tags: [Tag.PROFESSIONAL],
    phrases: [
      'news', 'reported', 'reports', 'reporter', 'journalist', 'journalists', 'article', 'headline',
      'according_to', 'police_said', 'officials', 'authorities', 'investigation', 'investigators',
      'court', 'trial', 'jury', 'sentenced', 'convicted', 'charged', 'arrested', 'suspect', 'prosecutors',
      'prosecutor', 'verdict', 'lawsuit', 'history', 'historical', 'historian', 'historians', 'century',
      'centuries', 'ancient', 'medieval', 'world_war', 'civil_war', 'wwii', 'ww2', 'ww1', 'wwi', 'archive',
      'study', 'studies', 'research', 'researchers', 'survey', 'statistics', 'rates',
      'percent', 'prevalence', 'epidemiology', 'clinical', 'clinician', 'clinicians', 'patients', 'patient',
      'doctor', 'doctors', 'physician', 'nurse', 'nurses', 'hospital', 'medical', 'medicine', 'symptoms',
      'diagnosis', 'diagnosed', 'treatment', 'therapy', 'therapist', 'psychiatrist', 'psychologist',
      'counselor', 'counsellor', 'counseling', 'counselling', 'prevention', 'awareness', 'hotline',
      'helpline', 'crisis_line', 'lifeline', '988', 'samaritans', 'support_group', 'education',
      'educational', 'curriculum', 'textbook', 'lecture', 'documentary', 'museum', 'memorial', 'survivors',
      'victims', 'public_health', 'policy', 'legislation', 'regulation', 'human_rights', 'analysis',
      'academic', 'essay', 'wikipedia', 'encyclopedia', 'risk_factors', 'warning_signs', 'signs_of',
      'summarize', 'summarise', 'casualties', 'death_toll', 'ceasefire', 'troops', 'soldiers', 'army',
      'military', 'veterans', 'genocide_studies', 'trial_of', 'testimony', 'witnesses', 'coroner',
      'autopsy', 'forensic', 'forensics', 'toxicology', 'pharmacology', 'emergency_room', 'paramedics',
      'ambulance', 'insurance', 'statistic', 'census', 'sociology', 'psychology', 'journal', 'peer_reviewed',
      'in_1914', 'in_1939', 'in_1941', 'in_1944', 'in_1945', 'empire', 'dynasty', 'revolution',
      'treaty', 'treaties', 'parliament', 'senate', 'election', 'biography', 'obituary', 'cold_war',
      'arms_control', 'disarmament', 'nonproliferation', 'non_proliferation', 'un_report', 'united_nations',
      'report_said', 'police_say', 'officials_say', 'the_news', 'historically', 'battle_of', 'war_of',
      'in/by/since/from/until 1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/18/19 th_century',
      'in/by/since/from/until/of/during ' + YEARS_1000_TO_1999,
    ],
  },
  {
    tags: [Tag.BENIGN, Tag.PROFESSIONAL],
    phrases: [
      'how_to/how_can_i/how_do_i/how_can_we/ways_to/tips_to prevent/help/support/recognise/recognize/cope/' +
        'report/avoid/spot/deal/talk/respond/stop/handle/reduce/protect',
      'how_to/how_can_i/how_do_i help someone/a_friend',
    ],
  },
  {
    tags: [Tag.HOW_TO],
    phrases: [
      'can/could/should i/we/you make/build/mix/create/cook/brew/assemble', 'what/which chemicals',
      'household chemicals',
      'painless_way_to', 'most_painless_way', 'least_painful_way_to', 'quietest_way_to', 'safest_way_to',
      'cleanest_way_to', 'a_way_to', 'any_way_to', 'tips_to', 'tips_for', 'tips_on', 'give_me_tips',
      'how_to', 'how_do_i', 'how_do_you', 'how_can_i', 'how_could_i', 'how_would_i', 'how_would_you',
      'how_does_one', 'how_would_one', 'how_should_i', 'how_can_someone', 'how_could_someone',
      'how_much', 'how_many', 'steps_to', 'step_by_step', 'steps_for', 'instructions', 'instruction',
      'guide', 'guide_to', 'tutorial', 'recipe', 'recipe_for', 'formula_for', 'teach_me', 'show_me_how',
      'tell_me_how', 'explain_how', 'walk_me_through', 'detailed_plan', 'blueprint', 'blueprints',
      'what_do_i_need_to', 'what_would_i_need_to', 'where_can_i_buy', 'where_can_i_get', 'where_to_buy',
      'where_to_get', 'best_way_to', 'easiest_way_to', 'quickest_way_to', 'fastest_way_to',
      'most_effective_way_to', 'simplest_way_to', 'surest_way_to', 'ways_to', 'the_way_to',
      'give_me_a_plan', 'help_me', 'list_of_materials', 'materials_needed', 'ingredients_for',
      'ingredients', 'schematics', 'diagram', 'manual',
    ],
  },
  {
    tags: [Tag.MAKE],
    phrases: [
      'make', 'making', 'made', 'build', 'building', 'built', 'assemble', 'assembling', 'synthesize',
      'synthesise', 'synthesizing', 'synthesising', 'synthesis', 'create', 'creating', 'construct',
      'constructing', 'manufacture', 'manufacturing', 'cook', 'cooking', 'brew', 'produce', 'producing',
      'print', 'printing', 'printed', 'mix', 'mixing', 'convert', 'converting', 'craft', 'rig', 'wire',
      'obtain', 'acquire', 'extract', 'extracting', 'weaponize', 'weaponise', 'detonate', 'set_off',
      'plant', 'planting', 'deploy', 'release', 'spread', 'culture', 'grow', 'smuggle', 'modify', 'get',
    ],
  },
  {
    tags: [Tag.ENDORSE],
    phrases: [
      'hero', 'heroes', 'heroic', 'a_hero', 'martyr', 'martyrs', 'glorious', 'justified', 'deserved_it',
      'had_it_coming', 'admire', 'admired', 'inspired', 'inspiring', 'inspiration', 'was_right',
      'were_right', 'did_nothing_wrong', 'praise', 'good_riddance', 'celebrate', 'should_be_celebrated',
      'more_of_this', 'do_it_again', 'should_happen_again', 'we_need_more', 'finish_what', 'i_support',
      'i_stand_with', 'legend', 'saint', 'role_model', 'well_done', 'based',
    ],
  },
  {
    tags: [Tag.GENERALISER],
    phrases: [
      'all', 'every', 'all_of_them', 'every_single', 'those_people', 'these_people', 'their_kind',
      'that_kind', 'them_all', 'they_all', 'are_all', 'always',
    ],
  },
];
