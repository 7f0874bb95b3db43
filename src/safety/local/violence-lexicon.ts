import type { PhraseRule } from './phrase-matcher.js';
import { Tag } from './lexicon-tags.js';

/**
 * Violence. Act verbs carry no severity by themselves: the rules read who does them to whom
 * ("I will kill you" against "kill the process"), and fixed phrases cover what a verb and an
 * object cannot (threats without an act verb, instructions, glorification). Idioms that would
 * otherwise match are listed as benign and silence every match inside them.
 */
export const VIOLENCE_LEXICON: readonly PhraseRule[] = [
  {
    tags: [Tag.VIOLENCE_ACT_LETHAL],
    phrases: [
      'kill{,s,ed,ing}', 'murder{,s,ed,ing}', 'stab{,s,bed,bing}', 'strangl{e,es,ed,ing}', 'behead{,s,ed,ing}',
      'decapitat{e,es,ed,ing}', 'slaughter{,s,ed,ing}', 'massacr{e,es,ed,ing}', 'tortur{e,es,ed,ing}',
      'assassinat{e,es,ed,ing}', 'lynch{,es,ed,ing}', 'suffocat{e,es,ed,ing}', 'bludgeon{,s,ed,ing}', 'gun_down',
      'gunned_down', 'burn alive', 'burned_alive', 'beat_to_death', 'murk', 'exterminat{e,es,ed,ing}',
      'dismember{,s,ed,ing}', 'disembowel{,s,ed,ing}', 'stomp_to_death', 'curb_stomp', 'slay{,s,ing}', 'slew', 'slain',
    ],
  },
  {
    // Lethal in one sense, everyday in others: they count only with a person as their object.
    tags: [Tag.VIOLENCE_ACT_LETHAL, Tag.VIOLENCE_ACT_AMBIGUOUS],
    phrases: [
      'shoot{,s,ing}', 'shot', 'chok{e,es,ed,ing}', 'execut{e,es,ed,ing}', 'hang{,s,ed,ing}', 'drown{,s,ed,ing}',
      'poison{,s,ed,ing}', 'bomb{,s,ed,ing}', 'blow_up', 'run_over', 'snipe', 'slit', 'knife', 'smother{,s,ed,ing}',
    ],
  },
  {
    tags: [Tag.VIOLENCE_ACT_HARM, Tag.VIOLENCE_ACT_AMBIGUOUS],
    phrases: [
      'hit{,s,ting}', 'attack{,s,ed,ing}', 'kick{,s,ed,ing}', 'beat', 'beating', 'knock{,s,ed} out', 'bash{,es,ed,ing}',
      'smack{,s,ed,ing}', 'batter', 'hurt{,s,ing}', 'harm{,s,ed,ing}', 'break',
    ],
  },
  {
    tags: [Tag.VIOLENCE_ACT_HARM],
    phrases: [
      'punch{,es,ed,ing}', 'beat_up', 'beating_up', 'slap{,s,ped,ping}', 'assault{,s,ed,ing}', 'injur{e,es,ed,ing}',
      'maim{,s,ed,ing}', 'cripple', 'rough_up', 'pistol_whip', 'waterboard', 'mutilat{e,es,ed,ing}', 'stomp{,ed,ing}',
    ],
  },
  {
    tags: [Tag.VIOLENCE_WEAPON_SEVERE],
    phrases: [
      'bomb', 'bombs', 'pipe_bomb{,s}', 'explosive{,s}', 'ied{,s}', 'detonator{,s}', 'grenade{,s}',
      'nerve_agent{,s}', 'sarin', 'vx_gas', 'ricin', 'anthrax', 'mustard_gas', 'chemical_weapon{,s}',
      'biological_weapon{,s}', 'bioweapon{,s}', 'dirty_bomb', 'napalm', 'molotov{,s}', 'molotov_cocktail{,s}',
      'thermite_bomb', 'ghost_gun{,s}', 'untraceable_gun{,s}', 'untraceable_firearm{,s}', '3d_printed_gun{,s}',
      'silencer', 'suppressor_for', 'auto_sear', 'bump_stock', 'full_auto_conversion', 'tatp', 'hmtd',
      'fertilizer_bomb', 'anfo', 'nail_bomb', 'car_bomb', 'suicide_vest', 'nuclear_weapon{,s}', 'nuke',
      'pressure_cooker_bomb', 'letter_bomb', 'incendiary_device', 'c4', 'semtex', 'bioterror', 'nerve_gas',
      'poison_gas', 'chlorine_gas', 'toxin', 'botulinum', 'untraceable_poison{,s}', 'weapons_grade',
    ],
  },
  {
    tags: [Tag.VIOLENCE_WEAPON],
    phrases: [
      'gun{,s}', 'rifle{,s}', 'pistol{,s}', 'handgun{,s}', 'shotgun{,s}', 'ar_15', 'ak_47', 'firearm{,s}', 'ammo',
      'ammunition', 'bullet{,s}', 'machete{,s}', 'crossbow', 'assault_rifle{,s}', 'weapon{,s}', 'switchblade',
      'brass_knuckles', 'glock', 'revolver', 'sniper_rifle', 'hunting_knife', 'combat_knife', 'baseball_bat',
      'taser', 'pepper_spray',
    ],
  },
  {
    tags: [Tag.VIOLENCE_GRAPHIC],
    phrases: [
      'gore', 'gory', 'gruesome', 'disemboweled', 'disembowelled', 'dismembered', 'dismemberment',
      'decapitated', 'eviscerat{e,ed}', 'entrails', 'guts_spilling', 'spilled_guts', 'guts_spilled',
      'blood everywhere', 'pool_of_blood', 'blood spurting/spurted/gushing/gushed/sprayed/splattered',
      'splattered', 'brains_splattered', 'brains_out', 'slit_throat', 'slit his/her/their/your throat',
      'gouged_out', 'gouge_out', 'gouge his/her/your eyes', 'blood pouring/poured/streaming', 'pouring_blood',
      'ripped_apart', 'severed_head{,s}', 'severed_limbs',
      'mutilated', 'flayed', 'skinned_alive', 'burned_alive', 'bled_out', 'bleeding_out', 'mangled_body',
      'crushed_skull', 'skull_crushed', 'skull_caved_in', 'bones_snapped', 'intestines', 'torn_limb_from_limb',
      'blood_and_guts', 'bloodbath', 'blood_bath', 'organs', 'exposed_bone', 'brain_matter',
    ],
  },
  {
    tags: [Tag.VIOLENCE_THREAT_HIGH],
    phrases: [
      'you_are/youre dead_meat', 'you_are/youre a_dead man/woman', 'i_know_where_you_live',
      'shoot_up/shooting_up/bomb/blow_up/attack the/my/this/that/our/your school/office/church/mosque/' +
        'synagogue/temple/mall/concert/party/workplace/building/station/plane/bus/train/embassy/classroom/' +
        'campus/hospital/stadium/parade',
      'put a bullet in/through your/his/her/their head/brain/skull/face', 'bullet_in_your_head',
      'cut/slit your throat', 'burn_your_house_down', 'burn_down_your_house', 'hunt_you_down',
      'find_you_and_kill', 'you_are/youre going_to die', 'you_will_die', 'your_days_are_numbered',
      'you_wont_live_to_see', 'end_you', 'murder_you', 'bring a gun/knife/bomb/weapon to school/work/class/church',
      'kill_you_and_your_family', 'kill_your_family', 'make_you_suffer', 'rape_you', 'skin_you_alive',
      'tear_you_apart', 'gonna_die_tonight', 'last_day_on_earth_for_you', 'you_will_not_survive',
      'watch_you_bleed', 'make_you_bleed', 'bleed_you_out', 'break_every_bone',
    ],
  },
  {
    tags: [Tag.VIOLENCE_THREAT_MEDIUM],
    phrases: [
      'watch_your_back', 'watch_your_fucking_back', 'going_to_regret', 'gonna_regret', 'will_regret_this',
      'kick/beat his/her/their ass', 'beat/kick the shit/crap/hell out_of him/her/them', 'im/i_am coming_for_you',
      'ill/i_will find_you',
      'you_will/youll/youre_going_to pay_for_this', 'you_will/youll regret_this', 'you_better_watch_out',
      'fuck_you_up', 'mess_you_up', 'beat/kick your_ass', 'beat the shit/crap/hell out_of you/him/her/them',
      'break your legs/neck/face/arms/jaw/nose/fingers', 'punch you/him/her in_the face/mouth/teeth',
      'smash_your_face', 'you_deserve_to_get_hurt', 'sleep_with_one_eye_open', 'knock_your_teeth_out',
      'teach_you_a_lesson_you_wont_forget', 'see_what_happens', 'you_have_been_warned', 'or_else',
    ],
  },
  {
    tags: [Tag.VIOLENCE_GLORIFY],
    phrases: [
      'deserve{,s,d}_to_die', 'deserve{,s,d} to be shot/killed/beaten/hanged/executed/tortured/hurt/stabbed/murdered',
      'should be wiped_out/hunted_down/burned/burnt/gassed/drowned', 'hunt them down', 'wipe them out',
      'burn them/their/his/her house/houses/home/homes/camp/camps/mosque/mosques/church/churches/synagogue/' +
        'synagogues/temple/temples/village/alive',
      'death_to', 'gas_them', 'should be shot/killed/hanged/hung/executed/lynched/beaten/stabbed/gassed/' +
        'exterminated/eliminated/murdered/tortured',
      'ought_to/needs_to/need_to be shot/killed/hanged/executed', 'should_hang', 'should_die',
      'hope you/he/she/they die{,s}', 'hope you/he/she/they get shot/stabbed/killed/murdered/hit_by_a_bus',
      'wish you/he/she/they were/was dead', 'kill them/em all', 'shoot them all', 'nuke_them',
      'violence_is_the_only_answer', 'violence_is_the_answer', 'blood_must_be_spilled', 'time_to_take_up_arms',
      'public_executions', 'line_them_up_and_shoot', 'against_the_wall', 'hang_them_all', 'string_them_up',
      'beat_the_shit_out_of', 'beat_the_crap_out_of', 'they_had_it_coming', 'deserved_to_be_beaten',
      'deserved_what_he_got', 'deserved_what_she_got',
    ],
  },
  {
    tags: [Tag.VIOLENCE_TERROR],
    phrases: [
      'terrorism', 'terrorist_attack{,s}', 'terror_attack{,s}', 'mass_shooting{,s}',
      'school_shooting{,s}', 'school_shooter{,s}', 'mass_shooter{,s}', 'shooter', 'gunman', 'suicide_bomber{,s}',
      'suicide_bombing{,s}', 'jihad', 'jihadi{,s}', 'jihadist{,s}', 'isis', 'isil', 'al_qaeda', 'daesh',
      'lone_wolf', 'manifesto', 'race_war', 'holy_war', 'accelerationism', 'accelerationist',
      'columbine', 'christchurch_shooter', 'unabomber', 'mass_murderer', 'killing_spree', 'rampage',
    ],
  },
  {
    tags: [Tag.VIOLENCE_TERROR, Tag.ENDORSE],
    phrases: [
      'join/joining isis/isil/daesh/al_qaeda/the_jihad', 'pledge_allegiance_to_isis', 'martyrdom_operation{,s}',
      'support_the_jihad', 'glory_to_the_martyrs', 'the_next_columbine', 'beat_his_high_score',
    ],
  },
  {
    tags: [Tag.VIOLENCE_MENTION],
    phrases: [
      'violence', 'fight{,s,ing}', 'fought', 'fistfight{,s}', 'brawl{,s}', 'gunfire', 'gunshot{,s}', 'bloodshed',
      'warfare', 'riot{,s}', 'bombing{,s}', 'airstrike{,s}', 'hostage{,s}', 'kidnap{,ped,ping}', 'domestic_violence',
      'beaten', 'corpse{,s}', 'dead_body', 'dead_bodies', 'homicide{,s}', 'manslaughter', 'wounded', 'genocide',
      'carnage', 'execution{,s}', 'stabbing{,s}', 'shooting{,s}', 'murder{,s}', 'murderer{,s}', 'killer', 'killers',
      'serial_killer{,s}', 'death_threat{,s}', 'armed_robbery', 'assassination', 'massacre', 'slaughter',
      'ambush{,ed,es}', 'sniper', 'warlord', 'militia', 'insurgent{,s}', 'torture', 'lynching', 'mob_violence',
      'gunfight{,s}', 'sword_fight{,s}', 'swordfight{,s}', 'bloodbath', 'knockout', 'knocked_out', 'beat_up',
    ],
  },
  {
    tags: [Tag.VIOLENCE_INSTRUCTION],
    phrases: [
      'how can/do/would/could i/we get_away_with murder/murdering/killing/killing_him/killing_her/it',
      'help_me get_away_with murder', 'get_away_with murdering/killing', 'get_away_with_murdering',
      'poison someone/somebody/him/her/my without', 'untraceable_poison',
      'without_getting_caught', 'without_leaving_evidence', 'without_leaving_a_trace', 'hide/dispose_of/' +
        'get_rid_of/dissolve/bury a/the body', 'make_it_look_like an_accident/suicide',
      'where to stab/shoot someone/a_person', 'how long does it take to strangle/suffocate/drown someone',
      'how to/can_i strangle/poison/suffocate/stab/shoot someone/somebody/a_person/my/him/her',
      'kill someone/somebody/a_person and get_away', 'most effective way to kill', 'best way to kill someone',
      'how to kill someone/somebody/a_person/people', 'how_to_make_a_bomb', 'how_to_build_a_bomb',
      'maximize/maximise casualties', 'most_people_killed', 'kill_as_many_people', 'as_many_casualties',
      'enrich uranium at_home', 'weaponize/weaponise anthrax/ricin/smallpox/a_virus/the_virus',
    ],
  },
  {
    tags: [Tag.BENIGN],
    phrases: [
      'kill 9/15/1/sigkill/sigterm/hup/s/l/term', 'killer app/apps/feature/features/deal/deals/combo/' +
        'look/outfit/smile/view/views/playlist/track/tune/workout/instinct/whale/whales/bee/bees/sudoku/queen/' +
        'heels/content/product/idea/performance/line/punchline/wave/hook/beat/lineup',
      'kill_switch', 'kill{,ing,ed} time', 'killing_it', 'killed_it', 'kill_two_birds', 'dressed_to_kill',
      'my feet/legs/back/head/knees/eyes/hands/arms/feelings/ears is/are killing_me',
      'is_killing_me', 'are_killing_me', 'weed/pain/bug/germ/mold/grass/fire/time killer{,s}',
      'beat you/him/her/them/me/us at', 'beat_the_game', 'beat_the_level', 'beat_the_boss', 'beat_the_record',
      'beat_the_heat', 'beat_the_traffic', 'beat_the_deadline', 'beat_the_market', 'beat_it', 'heart_beat',
      'fought/fight/fighting/fights segregation/racism/discrimination/poverty/hunger/climate_change/corruption/' +
        'injustice/inequality/cancer/crime/fires/fire/for/against/back_tears/off_a_cold/off_the_flu',
        'youre/you_are killing_me', 'killing_me_softly', 'kill/killed for a/an/some',
      'would/id kill_for', 'kill the/your/my/their vibe/mood/buzz/lights/engine/music', 'kill_joy', 'killjoy',
      'kill_it', 'kill_with_kindness', 'killing_with_kindness', 'killed_with_kindness',
      'photo_shoot', 'fashion_shoot', 'shoot me an/a email/message/text/dm/note/line/pm',
      'shoot_for_the_stars', 'shoot_for_the_moon', 'shoot_your_shot', 'shooting_star{,s}', 'shoot/shooting/' +
        'shot hoops', 'shoot/shooting/shot a/the/this/that/our/my/some video/film/movie/scene/photo/photos/' +
        'picture/pictures/commercial/documentary/episode/wedding/footage/pilot/music_video/promo',
      'shooting_guard', 'shoot_the_breeze', 'shoot_first_ask_questions_later', 'shooting_range',
      'was/is/its the_bomb', 'da_bomb', 'f_bomb', 'f_bombs', 'photobomb{,ed,ing}', 'bath_bomb{,s}', 'bomb_diggity',
      'bombed the/my/that test/exam/interview/audition/quiz', 'bombed_at_the_box_office', 'stink_bomb{,s}',
      'love_bomb{,ing}', 'sex_bomb', 'calorie_bomb', 'flavor_bomb', 'flavour_bomb', 'bomb_dot_com',
      'flu_shot', 'booster_shot', 'covid_shot', 'give_it_a_shot', 'big_shot', 'mug_shot', 'long_shot', 'good_shot',
      'nice_shot', 'shot_glass', 'one_shot', 'two_shot', 'few_shot', 'zero_shot', 'screen_shot', 'shot_of',
      'a_shot_at', 'heart_attack{,s}', 'panic_attack{,s}', 'anxiety_attack{,s}', 'asthma_attack{,s}',
      'brute_force_attack{,s}', 'ddos_attack{,s}', 'dos_attack{,s}', 'attack_surface', 'attack_vector{,s}',
      'cyber_attack{,s}', 'cyberattack{,s}', 'replay_attack{,s}', 'timing_attack{,s}', 'side_channel_attack{,s}',
      'injection_attack{,s}', 'phishing_attack{,s}', 'attack_on_titan', 'attack the/this problem/issue',
      'shark_attack', 'dog_attack',
      'execute the/this/a/my/your/our/each/every script/query/command/function/code/program/plan/order/task/' +
        'job/trade/test/tests/statement/transaction/migration/workflow/step/steps/strategy/contract/request',
      'executed_successfully', 'execution_time', 'execution_plan', 'code_execution', 'remote_code_execution',
      'dead_tired', 'dead_serious', 'dead_end', 'dead_code', 'dead_link', 'dead_letter', 'dead_battery',
      'dying_to', 'to_die_for', 'im/i_am dying_laughing', 'i_died_laughing', 'died_laughing', 'drop_dead_gorgeous',
      'knock em/them dead', 'break_a_leg', 'war_on_drugs', 'price_war', 'console_war{,s}', 'flame_war{,s}',
      'war_room', 'tug_of_war', 'fight/fighting/fought the/a fire/cancer/urge/disease/infection/flu/cold/bill',
      'fight/fighting/fought for', 'food_fight', 'pillow_fight', 'fight_club', 'fight_procrastination',
      'battle_royale', 'uphill_battle', 'rap_battle', 'battle_of_the_bands', 'battle_pass', 'battle_tested',
      'assault_on_the_senses', 'secret_weapon', 'hang_out', 'hanging_out', 'hang_on', 'hang_in_there', 'hang_up',
      'hang_tight', 'the_hang_of', 'hang the/a/my picture/painting/poster/clothes/laundry/coat/lights/shelf',
      'choke_on', 'choked_up', 'choking_hazard', 'choke_under_pressure', 'choke_point', 'chokepoint',
      'take_a_stab', 'stab_at', 'stab_in_the_dark', 'hit_me_up', 'hit_you_up', 'hit the gym/road/hay/books/' +
        'sack/jackpot/target/spot/ground/button/limit/wall/deadline/brakes/snooze',
      'hit_it_off', 'big_hit', 'hit_song', 'hit_single', 'hit_points', 'hit_rate', 'cache_hit{,s}', 'hit_list',
      'punch_line', 'fruit_punch', 'punch_card', 'punch_in', 'punch_out', 'punch_above', 'one_two_punch',
      'kick_off', 'kickoff', 'kick_the_habit', 'kick_in', 'kick_back', 'kick_start', 'kickstart', 'kick_ass',
      'for_kicks', 'break_the_ice', 'break_a_record', 'break_time', 'break_the_build', 'coffee_break',
      'lunch_break', 'break_even', 'break_down', 'break_up', 'breaking_news', 'break_the_law', 'jump_to',
      'jump_in', 'jump_start', 'jump_rope', 'jump_the_gun', 'smoking_gun', 'glue_gun', 'nail_gun', 'staple_gun',
      'heat_gun', 'spray_gun', 'water_gun', 'nerf_gun', 'top_gun', 'son_of_a_gun', 'stick_to_your_guns',
      'jumped_the_gun', 'bullet_point{,s}', 'bullet_list', 'bullet_journal', 'silver_bullet', 'bite_the_bullet',
      'dodge_a_bullet', 'dodged_a_bullet', 'bullet_train', 'harm_reduction', 'no_harm_done', 'do_no_harm',
      'hurt_feelings', 'blood_test{,s}', 'blood_pressure', 'blood_sugar', 'blood_type', 'blood_donation',
      'donate_blood', 'blood_cells', 'blood_orange', 'blood_moon', 'bad_blood', 'in_cold_blood', 'blood_work',
      'abuse_of_power', 'substance_abuse', 'api_abuse', 'abuse_report', 'killer_whale', 'kill_chain',
      'tiger_king', 'murder_of_crows', 'mortal_kombat', 'execute_order', 'killing_floor', 'poison_ivy',
      'food_poisoning', 'poison_control', 'cache_poisoning', 'dns_poisoning', 'data_poisoning', 'poison_pill',
      'drown_out', 'drowning_in', 'drowned_out', 'strangle_hold', 'stranglehold', 'bomb_squad',
      'bomb_shelter', 'shots_fired', 'gun_control', 'gun_violence', 'gun_laws',
      'gun_safety', 'the_war_on', 'war_crimes', 'war_crime', 'shoot_the_messenger',
      'smother{,ed} in', 'run_over_by', 'break_the_news', 'break_it_to', 'break_it_down', 'break_the_rules',
      'beat_the_odds', 'a_blast', 'blast_from_the_past',
    ],
  },
];
