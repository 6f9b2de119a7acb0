"""The rules :class:`~cascadeflow.cascade.domain.DomainDetector` scores: regex patterns and vocabularies.

Data only, kept apart from the detector so the mechanics stay readable. Rule ids are ``"domain.name"``;
their weights live in :class:`~cascadeflow.cascade.domain.DomainSettings`. Vocabulary entries are single
words or two-word phrases written with ``_`` (``blood_pressure``); ``stem*`` also matches the usual endings
(stem + s, ed, ing, er, ion, ment, ...). Irregular forms are listed explicitly.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _terms(text: str) -> tuple[str, ...]:
    return tuple(term.replace("_", " ") for term in text.split())


LANGUAGES = (
    "english|spanish|french|german|italian|portuguese|japanese|chinese|mandarin|cantonese|korean|arabic|"
    "russian|hindi|dutch|greek|turkish|vietnamese|polish|czech|hungarian|swahili|swedish|norwegian|danish|"
    "finnish|hebrew|thai|indonesian|latin|ukrainian|romanian|bengali|urdu|persian|farsi|tagalog|catalan"
)
_OPERATOR = r"[\^=+*/×÷<>%]"
_OPERAND = r"(?:[0-9)\]]|(?<![a-z])[a-z])"  # a number, a closing bracket or a single-letter variable

# Regex rules, run on the lower-cased text (``code.syntax`` on the original: CamelCase is its signal).
# Each alternative starts with a literal character so the engine can skip ahead instead of trying every
# position. Rules in ANCHORED_RULES only look at the start of the request.
PATTERNS: Mapping[str, str] = MappingProxyType({
    "code.task": r"(?:write|implement|create|build|debug|optimi[sz]e|code)\b[^.?!\n]{0,40}?"
    r"\b(?:function|method|class|script|program|query|regex|regular expression|unit tests?|endpoint|algorithm|"
    r"module|decorator|api|component|lambda)\b",
    "code.symbols": r"c\+\+|c#|\.net\b|node\.js|\.(?:py|js|ts|jsx|tsx|cpp|rs|java|sh|csv|json)\b",
    "code.syntax": r"def \w+\(|=>|\(\)|import \w+|#include|console\.log|print\(|\.\w+\(|"
    r"_(?<=\w_)[A-Za-z]|Error\b|Exception\b|const \w|\^\\|\{\}|//",
    # An operator between numbers, single-letter variables or brackets ("3x + 7 = 22", "x^2", "1/x"),
    # but not "ng/ml" or "and/or".
    "math.expression": _OPERATOR + r"(?:(?<=" + _OPERAND + _OPERATOR + r")|(?<=" + _OPERAND + " " + _OPERATOR
    + r"))\s*(?:[0-9(\[]|[a-z](?![a-z]))|%\s*of\b",
    "math.spoken": r"\d (?:times|plus|minus|divided by|multiplied by|squared|cubed)\b",
    "math.function": r"(?:sin|cos|tan|log|ln|exp|sqrt)\s*\(",
    "legal.question": r"(?:is it|is this|is that|are they|am i) (?:legal|illegal|lawful|allowed)\b|"
    r"can (?:my|the|a|an) \w+ (?:legally|sue|evict|enter)\b|can (?:i|we|you|they) (?:legally )?(?:sue|evict)\b|"
    r"(?:be|get) sued\b",
    "finance.money": r"\$ ?\d|€ ?\d|£ ?\d",
    "creative.task": r"(?:write|compose|create|craft|draft|give me|come up with|describe|tell me|invent|"
    r"brainstorm|turn)\b[^.?!\n]{0,60}?\b(?:poems?|poetry|story|stories|tale|fable|fairy tale|haiku|limerick|"
    r"sonnet|villanelle|ode|ballad|lullaby|chorus|lyrics|song|verse|novel|chapter|scene|fiction|slogan|tagline|"
    r"plot|characters?|backstory|joke|riddle|rhyme|writing prompt|dialogue|monologue|speech|toast|love letter|"
    r"legend|creature|names|world|sketch|skit|parody|opening line)\b",
    "translation.task": r"translat\w*|tradu\w+|übersetz\w*",
    "translation.say": r"how (?:do|would|can|should) (?:you|i|we|one) say\b|"
    r"what (?:does|is) ['\"“‘][^'\"”’]{1,40}['\"”’] mean\b|meaning of the (?:word|phrase)\b",
    "translation.language": r"(?:into|to|in|from)(?: \w+)? (?:" + LANGUAGES + r")\b|"
    r"(?:the )?(?:" + LANGUAGES + r") (?:word|phrase|term|expression|equivalent|translation|for)\b",
    # Non-Latin scripts (Cyrillic, Hebrew, Arabic, Devanagari, kana, CJK, Hangul) next to English.
    "translation.script": r"[\u0400-\u04FF\u0590-\u06FF\u0900-\u097F\u3040-\u30FF\u3400-\u9FFF\uAC00-\uD7AF]",
    "factual.mcq": r"\n[a-d]\) ",
    # Who/when/where ask for a person, a date or a place: facts. "What is/how does" is weaker evidence,
    # and none at all when it asks about the user ("how do I") or for suggestions ("what are some").
    "factual.who_when_where": r"\s*(?:who|when|where)\b",
    "factual.question": r"\s*(?:which\b|(?:what|why|how) (?:is|are|was|were|does|do|did)\b"
    r"(?! (?:i|we|you|my|some)\b))",
    "general.howto": r"how (?:do|can|should|would|often should) (?:i|we)\b",
    "general.chat": r"\s*(?:hi|hello|hey|yo|good (?:morning|afternoon|evening)|thanks|thank you|ok|okay|bye|"
    r"goodbye|what's up)\b",
})
ANCHORED_RULES = frozenset({"factual.who_when_where", "factual.question", "general.chat"})
CASE_SENSITIVE_RULES = frozenset({"code.syntax"})
# A pattern runs only when one of its gate words is among the request's words: a set test costs far less
# than a regex scan, and most requests match few rules.
PATTERN_GATES: Mapping[str, frozenset[str]] = MappingProxyType({
    "code.task": _words(
        "function method class script program query regex regular test tests endpoint algorithm module decorator "
        "api component lambda"
    ),
    "code.symbols": _words("c net node js py ts jsx tsx cpp rs java sh csv json"),
    "math.spoken": _words("times plus minus divided multiplied squared cubed"),
    "math.function": _words("sin cos tan log ln exp sqrt"),
    "legal.question": _words("legal illegal lawful allowed legally sue sued evict enter"),
    "creative.task": _words(
        "poem poems poetry story stories tale fable fairy haiku limerick sonnet villanelle ode ballad lullaby chorus "
        "lyrics song verse novel chapter scene fiction slogan tagline plot character characters backstory joke "
        "riddle rhyme writing dialogue monologue speech toast letter legend creature names world sketch skit "
        "parody opening"
    ),
    "translation.say": _words("say mean meaning"),
    "translation.language": frozenset(LANGUAGES.split("|")),
    "general.howto": _words("how"),
})

VOCABULARY: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "code.tech": _terms(
        "python javascript typescript java rust golang ruby php kotlin swift scala bash shell sql html css react "
        "django flask pandas numpy docker kubernetes git github gitlab linux json yaml regex regular_expression "
        "compiler api rest_api http npm pip venv virtualenv conda vs_code vscode postgres postgresql mysql "
        "mongodb redis c_program const terminal command_line frontend backend"
    ),
    "code.term": _terms(
        "function functions array arrays string strings boolean loop loops recurs* compil* runtime stack_trace "
        "traceback segmentation_fault segfault null_pointer syntax_error debug debugging debugger deploy* "
        "repository pull_request merge_conflict unit_test unit_tests algorithm* data_structure linked_list "
        "binary_search hashmap hash_map list_comprehension closure closures thread threads database* endpoint* "
        "framework* div dataframe* big_o coding programming programmer* developer* software source_code "
        "codebase variable_name"
    ),
    # Named algorithms and data structures: asking how to implement one is a programming question.
    "code.algorithm": _terms(
        "quicksort quick_sort mergesort merge_sort heapsort heap_sort bubble_sort insertion_sort selection_sort "
        "radix_sort binary_search binary_tree linked_list hash_table hashmap trie dijkstra "
        "breadth-first depth-first memoization memoize dynamic_programming topological_sort"
    ),
    "math.task": _terms("solve simplify factorize factorise integrate differentiate prove evaluate compute calculate"),
    "math.term": _terms(
        "equation* polynomial* quadratic derivative* integral* limit_of matrix matrices determinant* eigenvalue* "
        "eigenvector* vector* probability odds permutation* combination* many_ways factorial prime primes "
        "theorem* lemma proof logarithm* exponent* square_root square_roots fraction* decimal* sum_of average "
        "the_mean mean_of median area_of volume_of perimeter circumference radius diameter triangle* angle* "
        "hypotenuse pythagor* sphere* cylinder* slope intercept geometry algebra* calculus divisible remainder "
        "modulo infinity percent* arithmetic multiply divided_by integer integers common_multiple "
        "common_divisor lcm gcd coin"
    ),
    # Only the cue of the word-problem feature (see DomainSettings.word_problem_min_numbers); not scored.
    "math.quantity": _terms(
        "how_many how_much how_long how_far how_old how_fast total average altogether in_all remaining "
        "what_percentage what_fraction original_price discount"
    ),
    "medical.term": _terms(
        "symptom* diagnos* diagnostic pain painful ache aches aching hurt hurts sore soreness fever* chills cough* "
        "sneez* congestion runny_nose sore_throat headache* migraine* nausea nauseous vomit* diarrhea diarrhoea "
        "constipat* bloating cramp cramps dizzy dizziness faint fainting fatigue insomnia rash* itch itchy itching "
        "swell swells swollen swelling bruis* bleeding numbness tingling palpitations wheez* shortness_of heartburn "
        "reflux indigestion tinnitus blurry_vision discharge lump lumps inflam* infect* fracture* sprain* burn "
        "blister* wound* stitches scar "
        "disease* disorder* syndrome* diabetes diabetic hypertension stroke heart_attack cardiac arrhythmia "
        "atrial_fibrillation afib cholesterol asthma copd bronchitis pneumonia flu influenza covid coronavirus "
        "measles chickenpox shingles lyme strep uti sepsis cancer* tumor tumors tumour chemo chemotherapy "
        "leukemia lymphoma melanoma arthritis osteoporosis gout lupus anemia anaemia deficiency thyroid "
        "hypothyroidism hyperthyroidism obesity dementia alzheimer parkinson epilepsy "
        "seizure* concussion depression anxiety adhd autism bipolar schizophrenia ptsd panic_attack ocd jaundice "
        "eczema psoriasis acne allerg* anaphylaxis celiac ulcer* hernia appendicitis glaucoma cataract* "
        "pink_eye conjunctivitis ear_infection sinus sinusitis tonsillitis preeclampsia miscarriage pregnant "
        "pregnancy prenatal postpartum menopause menstrual contraception std hiv herpes contagious "
        "medication* medicine* drug drugs pill pills tablet tablets dose* dosage overdose prescribe prescribed "
        "prescription* antibiotic* antiviral antidepressant* ssri ssris painkiller* ibuprofen acetaminophen "
        "paracetamol aspirin naproxen tylenol advil motrin aleve benadryl zyrtec claritin melatonin insulin "
        "metformin statin statins lisinopril amoxicillin penicillin prednisone steroid* opioid* morphine "
        "oxycodone codeine antihistamine* vaccine* vaccinat* flu_shot booster supplement* vitamin* probiotic* "
        "interact blood_test blood_work lab_results mri ct_scan x_ray ultrasound ecg ekg biopsy colonoscopy "
        "mammogram endoscopy surgery surgeon* anesthesia physical_therapy physiotherapy therap* rehab "
        "transplant dialysis checkup screening a1c hba1c tsh ldl hdl blood_sugar blood_pressure heart_rate "
        "pulse bpm bmi ng mg mcg doctor* physician* nurse* pediatrician* dermatologist* cardiologist* dentist* "
        "pharmacist* pharmacy hospital* clinic* emergency_room urgent_care icu patient* health healthcare "
        "medical medically clinical tetanus breastfeeding immune immunity antibod* newborn treat treated "
        "treatment* warning_signs"
    ),
    "medical.body": _terms(
        "head neck throat chest heart lungs lung stomach abdomen belly liver kidney kidneys bladder bowel colon "
        "intestine* skin eye eyes ear ears nose mouth teeth tooth gums jaw shoulder* elbow* wrist* finger* hip "
        "hips knee knees ankle* toe toes lower_back back_pain spine muscle* joint joints bone bones blood"
    ),
    "legal.term": _terms(
        "law laws legal legally illegal illegally unlawful lawful lawyer* attorney* solicitor* paralegal court* "
        "courtroom judge* jury juror* trial trials lawsuit* sue sued suing litigation plaintiff* defendant* "
        "prosecut* criminal crime crimes felony felonies misdemeanor* misdemeanour* arrest* police warrant* "
        "subpoena* arraign* indict* plea bail parole verdict sentenced jail prison conviction convicted "
        "acquitted testimony testify witness affidavit contract* agreement* clause* breach enforceable "
        "unenforceable notar* liable liability indemn* warranty settlement* negligence negligent malpractice "
        "personal_injury workers_comp landlord* tenant* lease* sublet* evict* eviction* rental_agreement deed* "
        "easement zoning permit permits property_line hoa security_deposit employer* employment "
        "wrongful_termination fire_me fired overtime wage wages minimum_wage discrimination harass* "
        "whistleblower non_compete noncompete severance copyright* trademark* patent* trade_secret trade_secrets "
        "infring* "
        "fair_use licensing royalt* custody divorce* alimony child_support prenup prenuptial guardianship "
        "a_will my_will the_will living_will probate executor* inheritance estate_planning living_trust llc "
        "llcs incorporat* sole_proprietorship bylaws gdpr hipaa ccpa regulation* compliance statute* "
        "ordinance* constitutional rights civil_rights due_process jurisdiction* speeding_ticket parking_ticket "
        "traffic_stop dui dwi suspended_license small_claims lemon_law penalty penalties offense offence "
        "cease desist restraining_order without_permission towed dispute defamation libel slander perjury fraud "
        "legal_advice prejudice contempt motion nda "
        "non_disclosure"
    ),
    "finance.term": _terms(
        "invest* stock stocks shares equity equities bond bonds etf etfs index_fund index_funds mutual_fund "
        "mutual_funds hedge_fund portfolio* asset_allocation dividend* high_yield ira roth 401_k 403_b 529 "
        "retire retirement pension* annuit* social_security bank banks banking credit_union savings "
        "savings_account checking_account interest_rate interest_rates compound_interest apr apy overdraft "
        "withdrawal withdrawals credit_score credit_card credit_cards credit_report credit_utilization utilization "
        "debt debts loan loans lender* borrow borrowing mortgage* refinanc* heloc collateral foreclos* bankrupt "
        "bankruptcy market_cap stock_market bull_market bear_market trading trader* broker* brokerage "
        "short_selling margin_call margin margins forex currency currencies exchange_rate exchange_rates crypto "
        "cryptocurrency bitcoin ethereum spac ipo valuation* venture_capital venture_capitalists private_equity "
        "revenue* profit* earnings eps ebitda net_income cash_flow free_cash balance_sheet income_statement p_e "
        "liquidity inflation deflation recession the_fed federal_reserve central_bank monetary_policy "
        "quantitative_easing treasury treasuries t_bills budget* afford affordable salary salaries income "
        "paycheck expense_ratio expenses emergency_fund net_worth savings_rate financial_advisor financial "
        "finance* fiscal tax taxes taxed taxable irs deduction deductible capital_gains hsa fsa insurance "
        "dollar_cost analysts closing_costs capitalization yield_curve usd eur"
    ),
    "creative.term": _terms(
        "poem* poet poets poetry poetic story stories storytelling fiction fictional novel novels novella "
        "character* plot narrative narrator protagonist* antagonist* villain* hero heroes heroine rhyme* "
        "rhyming lyric lyrics verse stanza* haiku sonnet limerick ballad* ode epic fable* fairy_tale folklore "
        "myth myths mythical mytholog* legend* fantasy sci_fi science_fiction dystopia* utopia* dragon* wizard* "
        "witch witches ghost* haunted spooky vampire* zombie* mermaid* pirate* princess* kingdom* castle* quest "
        "alien* magic magical enchanted whimsical imaginative imagination creative metaphor* simile* imagery "
        "vivid comedic comedy humorous funny sitcom sketch skit parody satire monologue dialogue screenplay "
        "chapter prologue epilogue backstory worldbuilding once_upon voice_of style_of catchy tagline slogan "
        "jingle lullaby bedtime_story quirky campfire"
    ),
    "factual.term": _terms(
        "population planet* solar_system earth moon moons sun star stars galaxy galaxies universe atom* molecule* "
        "element* chemical* photosynthesis cell cells dna gene genes genetic evolution species gravity energy "
        "force forces electric* magnet* temperature* climate weather volcano* earthquake* rock rocks mineral* "
        "fossil* ecosystem* organism* animal* mammal* reptile* insect* history historical war wars empire* "
        "century centuries ancient medieval revolution* civilization* president* king kings queen queens "
        "emperor* dynasty discovered invented inventor* invention* scientist* physicist* chemist* painted "
        "painter author continent* country countries the_capital ocean* river* mountain* desert* island* "
        "boiling_point freezing_point speed_of orbit* experiment* student* investigation erosion made_of "
        "spoken largest longest tallest highest deepest smallest oldest biggest"
    ),
    "general.assist": _terms(
        "help_me you_help tips advice idea ideas suggest* recommend* plan planning routine habit habits "
        "schedule checklist to_do organize organise organizing declutter productive productivity procrastinat* "
        "motivat* hobby hobbies weekend vacation holiday trip trips travel traveling itinerary packing pack "
        "hotel restaurant* recipe* cook cooking bake baking dinner lunch breakfast meal meals snack* grocery "
        "groceries leftover leftovers potluck party birthday wedding anniversary gift gifts first_date dating "
        "roommate* neighbor* friend friends kids parenting babysit* pets dog dogs puppy kitten goldfish "
        "houseplant* plant garden* lawn laundry clean cleaning stain sticker apartment furniture couch sofa "
        "closet decor email emails text_message note resume cover_letter interview meeting team coworker* "
        "inbox conversation* small_talk networking icebreaker polite politely apologiz* invitation bored fun "
        "beginner guitar board_games books rewrite professional"
    ),
    # First-person phrasing separates "how often should I water my plant" from encyclopaedia questions.
    "general.personal": _terms("should_i can_i do_i i'm my"),
})

# Drug-class name endings (-cillin, -pril, -statin, -olol, ...): standard pharmacology naming.
DRUG_SUFFIXES = (
    "cillin", "mycin", "cycline", "pril", "sartan", "statin", "olol", "prazole", "oxetine", "triptan", "dipine",
    "olone", "azepam",
)
NUMBER_WORDS = _words(
    "one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred thousand "
    "half twice double triple dozen third quarter"
)
