//! The words the demo data is made of: per jurisdiction, the office's name, its holders (local
//! ones and a few foreign ones, as in a real register), their brand stems and Nice classes,
//! product words, design objects and the shape of its registration numbers.
//!
//! Jurisdictions without a catalogue of their own get a generic one ([`generic`]), so any valid
//! `--offices` list works.

/// A holder of rights: a company with a home country. `keyed` holders get a holder key (a
/// `did:key`) that offices record in their registrations, for the notice flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HolderSpec {
    /// File-name-safe id, unique across catalogues; the holder key is `holders/<slug>.json`.
    pub slug: &'static str,
    /// The holder's name as registered.
    pub name: &'static str,
    /// ISO 3166-1 alpha-2 home country.
    pub country: &'static str,
    /// Whether the holder has a key (`did:key`) recorded with its rights.
    pub keyed: bool,
    /// The Nice classes its goods and services fall in, ascending.
    pub classes: &'static [u8],
}

/// A holder as one office's register knows it: the brand stems it files there.
#[derive(Debug, Clone, Copy)]
pub struct RegisteredHolder {
    /// The holder.
    pub holder: &'static HolderSpec,
    /// Brand stems; a mark is a stem, possibly followed by a product word.
    pub stems: &'static [&'static str],
}

/// One office's register, in words.
#[derive(Debug, Clone, Copy)]
pub struct Catalog {
    /// Human name of the office, for the trust store.
    pub office_name: &'static str,
    /// Holders with rights in this register.
    pub holders: &'static [RegisteredHolder],
    /// Words appended to a stem to make a mark (the empty word: the stem alone).
    pub product_words: &'static [&'static str],
    /// Objects of design registrations.
    pub design_objects: &'static [&'static str],
    /// What joins a stem and a product word (nothing in Chinese and Japanese).
    pub joiner: &'static str,
    /// Trademark numbers: `prefix`, then `base + index * step + jitter` zero-padded to
    /// `width` digits.
    pub number_prefix: &'static str,
    /// See `number_prefix`.
    pub number_base: u64,
    /// See `number_base`.
    pub number_step: u64,
    /// See `number_base`.
    pub number_width: usize,
}

macro_rules! holder {
    ($slug:literal, $name:literal, $country:literal, $keyed:literal, [$($class:literal),+]) => {
        HolderSpec {
            slug: $slug,
            name: $name,
            country: $country,
            keyed: $keyed,
            classes: &[$($class),+],
        }
    };
}

static LUMIERE: HolderSpec = holder!(
    "maison-lumiere",
    "Maison Lumière SARL",
    "FR",
    true,
    [30, 43]
);
static BELLE_EPOQUE: HolderSpec = holder!(
    "belle-epoque",
    "Belle Époque Cosmétiques SA",
    "FR",
    false,
    [3, 44]
);
static CHATEAU_VIGNE: HolderSpec = holder!(
    "chateau-de-la-vigne",
    "Château de la Vigne SCEA",
    "FR",
    true,
    [33]
);
static ATELIER_NOEMIE: HolderSpec = holder!(
    "atelier-noemie",
    "Atelier Noémie SAS",
    "FR",
    false,
    [14, 18, 25]
);
static ETOILE: HolderSpec = holder!(
    "boulangeries-etoile",
    "Boulangeries de l'Étoile SA",
    "FR",
    false,
    [30, 35, 43]
);
static SOLEIL: HolderSpec = holder!(
    "soleil-de-provence",
    "Soleil de Provence SAS",
    "FR",
    false,
    [3, 29, 30]
);

static JINLONG: HolderSpec = holder!(
    "jinlong-tea",
    "杭州金龙茶业有限公司",
    "CN",
    true,
    [30, 32, 35]
);
static HUAXING: HolderSpec = holder!(
    "huaxing-electronics",
    "深圳华星电子科技有限公司",
    "CN",
    true,
    [9, 38, 42]
);
static CHANGCHENG: HolderSpec = holder!(
    "changcheng-foods",
    "长城食品集团股份有限公司",
    "CN",
    false,
    [29, 30, 32]
);
static FENGHUANG: HolderSpec = holder!(
    "fenghuang-bicycles",
    "上海凤凰自行车有限公司",
    "CN",
    false,
    [12, 28]
);
static RUIXIANG: HolderSpec = holder!(
    "ruixiang-apparel",
    "北京瑞祥服饰有限公司",
    "CN",
    false,
    [18, 24, 25]
);

static BLUE_RIDGE: HolderSpec = holder!(
    "blue-ridge-outfitters",
    "Blue Ridge Outfitters, Inc.",
    "US",
    true,
    [18, 22, 25]
);
static SUMMIT_LABS: HolderSpec = holder!("summit-labs", "Summit Labs LLC", "US", false, [5, 9, 42]);
static LIBERTY_COFFEE: HolderSpec = holder!(
    "liberty-coffee",
    "Liberty Coffee Roasters, Inc.",
    "US",
    false,
    [21, 30, 43]
);
static REDWOOD_GAMES: HolderSpec = holder!(
    "redwood-games",
    "Redwood Games Corp.",
    "US",
    true,
    [9, 28, 41]
);
static PRAIRIE_FOODS: HolderSpec = holder!(
    "prairie-foods",
    "Prairie Foods Company",
    "US",
    false,
    [29, 30, 31]
);

static SONNENHOF: HolderSpec = holder!(
    "sonnenhof-naturkost",
    "Sonnenhof Naturkost GmbH",
    "DE",
    true,
    [29, 30, 32]
);
static BELLA_VITA: HolderSpec =
    holder!("bella-vita", "Bella Vita S.r.l.", "IT", false, [3, 25, 43]);
static NORDLYS: HolderSpec = holder!(
    "nordlys-design",
    "Nordlys Design ApS",
    "DK",
    false,
    [11, 20, 21]
);
static CASA_OLIVAR: HolderSpec = holder!(
    "casa-del-olivar",
    "Casa del Olivar S.L.",
    "ES",
    true,
    [29, 33]
);
static TULPENVELD: HolderSpec = holder!("tulpenveld", "Tulpenveld B.V.", "NL", false, [31, 35, 44]);
static ZIELONY_LAS: HolderSpec = holder!(
    "zielony-las",
    "Zielony Las Sp. z o.o.",
    "PL",
    false,
    [3, 5, 30]
);

static SAKURA_SEIKA: HolderSpec = holder!("sakura-seika", "桜製菓株式会社", "JP", true, [30, 35]);
static FUJIMI: HolderSpec = holder!(
    "fujimi-denki",
    "富士見電機株式会社",
    "JP",
    false,
    [7, 9, 11]
);
static KAZE: HolderSpec = holder!(
    "kaze-textile",
    "風テキスタイル株式会社",
    "JP",
    false,
    [24, 25]
);

static BERGQUELLE: HolderSpec = holder!(
    "bergquelle",
    "Bergquelle Getränke GmbH",
    "DE",
    false,
    [32, 33]
);
static SCHWARZWALD: HolderSpec = holder!(
    "schwarzwaelder-uhren",
    "Schwarzwälder Uhrenmanufaktur GmbH",
    "DE",
    true,
    [14]
);

static THAMES: HolderSpec = holder!(
    "thames-tea",
    "Thames & Co. Tea Merchants Ltd",
    "GB",
    true,
    [21, 30]
);
static HIGHLAND: HolderSpec = holder!(
    "highland-wool",
    "Highland Wool Company Limited",
    "GB",
    false,
    [23, 24, 25]
);
static KESTREL: HolderSpec = holder!(
    "kestrel-cycles",
    "Kestrel Cycles Ltd",
    "GB",
    false,
    [12, 28]
);

static FRANCE: Catalog = Catalog {
    office_name: "INPI, France",
    holders: &[
        RegisteredHolder {
            holder: &LUMIERE,
            stems: &["Café Lumière", "LUMIÈRE", "Lumière d'Or"],
        },
        RegisteredHolder {
            holder: &BELLE_EPOQUE,
            stems: &["Belle Époque", "Éclat de Rose", "Crème Céleste"],
        },
        RegisteredHolder {
            holder: &CHATEAU_VIGNE,
            stems: &["Château de la Vigne", "Clos des Étoiles", "Côte Dorée"],
        },
        RegisteredHolder {
            holder: &ATELIER_NOEMIE,
            stems: &["Noémie", "Atelier Noémie", "Maille & Fil"],
        },
        RegisteredHolder {
            holder: &ETOILE,
            stems: &["L'Étoile du Matin", "Pain d'Étoile", "Brioche Étoilée"],
        },
        RegisteredHolder {
            holder: &SOLEIL,
            stems: &["Soleil de Provence", "Lavande Bleue", "Mistral"],
        },
        RegisteredHolder {
            holder: &JINLONG,
            stems: &["JINLONG", "Dragon d'Or"],
        },
        RegisteredHolder {
            holder: &BLUE_RIDGE,
            stems: &["BLUE RIDGE"],
        },
    ],
    product_words: &[
        "",
        "",
        "Prestige",
        "Élégance",
        "Nature",
        "Gourmet",
        "Paris",
        "Rosé",
        "Noir",
        "Bio",
    ],
    design_objects: &[
        "Flacon",
        "Théière",
        "Chaise longue",
        "Sac à main",
        "Bouteille",
    ],
    joiner: " ",
    number_prefix: "",
    number_base: 4_000_000,
    number_step: 4_000,
    number_width: 7,
};

static CHINA: Catalog = Catalog {
    office_name: "CNIPA, China",
    holders: &[
        RegisteredHolder {
            holder: &JINLONG,
            stems: &["金龙", "金龙茶", "龙井春"],
        },
        RegisteredHolder {
            holder: &HUAXING,
            stems: &["华星", "华星科技", "星云"],
        },
        RegisteredHolder {
            holder: &CHANGCHENG,
            stems: &["长城", "长城食品", "福满堂"],
        },
        RegisteredHolder {
            holder: &FENGHUANG,
            stems: &["凤凰", "飞凤"],
        },
        RegisteredHolder {
            holder: &RUIXIANG,
            stems: &["瑞祥", "锦绣坊", "云裳"],
        },
        RegisteredHolder {
            holder: &LUMIERE,
            stems: &["卢米埃 LUMIÈRE", "露米尔"],
        },
        RegisteredHolder {
            holder: &SONNENHOF,
            stems: &["森霍夫 SONNENHOF"],
        },
    ],
    product_words: &[
        "", "", "茶", "精选", "优品", "之星", "源", "家", "坊", "天地",
    ],
    design_objects: &["茶壶", "手机外壳", "自行车车架", "包装盒", "台灯"],
    joiner: "",
    number_prefix: "",
    number_base: 10_000_000,
    number_step: 400_000,
    number_width: 8,
};

static UNITED_STATES: Catalog = Catalog {
    office_name: "USPTO, United States",
    holders: &[
        RegisteredHolder {
            holder: &BLUE_RIDGE,
            stems: &["BLUE RIDGE", "Ridgeline", "Trail Fox"],
        },
        RegisteredHolder {
            holder: &SUMMIT_LABS,
            stems: &["SUMMIT", "Summit Labs", "ClearPeak"],
        },
        RegisteredHolder {
            holder: &LIBERTY_COFFEE,
            stems: &["Liberty Coffee", "Freedom Roast", "Bell Tower Beans"],
        },
        RegisteredHolder {
            holder: &REDWOOD_GAMES,
            stems: &["REDWOOD", "Redwood Quest", "Pixel Grove"],
        },
        RegisteredHolder {
            holder: &PRAIRIE_FOODS,
            stems: &["Prairie Gold", "Sunny Acres", "Harvest Moon"],
        },
        RegisteredHolder {
            holder: &HUAXING,
            stems: &["HUAXING", "StarNova"],
        },
        RegisteredHolder {
            holder: &CHATEAU_VIGNE,
            stems: &["CHÂTEAU DE LA VIGNE"],
        },
    ],
    product_words: &[
        "", "", "Classic", "Pro", "Select", "Original", "Gold", "Express", "Reserve", "Craft",
    ],
    design_objects: &[
        "Water bottle",
        "Boot sole",
        "Game controller",
        "Coffee mug",
        "Backpack",
    ],
    joiner: " ",
    number_prefix: "",
    number_base: 5_000_000,
    number_step: 30_000,
    number_width: 7,
};

static EUROPEAN_UNION: Catalog = Catalog {
    office_name: "EUIPO, European Union",
    holders: &[
        RegisteredHolder {
            holder: &SONNENHOF,
            stems: &["Sonnenhof", "Grüne Wiese", "Hofgold"],
        },
        RegisteredHolder {
            holder: &BELLA_VITA,
            stems: &["Bella Vita", "Dolce Sera", "Riva Azzurra"],
        },
        RegisteredHolder {
            holder: &NORDLYS,
            stems: &["NORDLYS", "Hygge Hus", "Fjordlys"],
        },
        RegisteredHolder {
            holder: &CASA_OLIVAR,
            stems: &["Casa del Olivar", "Oro Líquido", "Sierra Mágina"],
        },
        RegisteredHolder {
            holder: &TULPENVELD,
            stems: &["Tulpenveld", "Bloemenhart"],
        },
        RegisteredHolder {
            holder: &ZIELONY_LAS,
            stems: &["Zielony Las", "Łąka", "Źródło Natury"],
        },
        RegisteredHolder {
            holder: &LUMIERE,
            stems: &["Café Lumière", "LUMIÈRE"],
        },
        RegisteredHolder {
            holder: &BLUE_RIDGE,
            stems: &["BLUE RIDGE"],
        },
        RegisteredHolder {
            holder: &HUAXING,
            stems: &["HUAXING"],
        },
    ],
    product_words: &[
        "", "", "Natur", "Bio", "Classico", "Premium", "Design", "Verde", "Vita", "Oro",
    ],
    design_objects: &["Lamp", "Chair", "Olive oil bottle", "Kitchen knife", "Vase"],
    joiner: " ",
    number_prefix: "",
    number_base: 10_000_000,
    number_step: 200_000,
    number_width: 9,
};

static JAPAN: Catalog = Catalog {
    office_name: "JPO, Japan",
    holders: &[
        RegisteredHolder {
            holder: &SAKURA_SEIKA,
            stems: &["さくら", "桜もなか", "ハルノヒ"],
        },
        RegisteredHolder {
            holder: &FUJIMI,
            stems: &["フジミ", "富士見", "ミライデンキ"],
        },
        RegisteredHolder {
            holder: &KAZE,
            stems: &["カゼ", "風織"],
        },
        RegisteredHolder {
            holder: &REDWOOD_GAMES,
            stems: &["レッドウッド REDWOOD"],
        },
    ],
    product_words: &[
        "",
        "",
        "プレミアム",
        "ゴールド",
        "の森",
        "堂",
        "屋",
        "スペシャル",
    ],
    design_objects: &["急須", "炊飯器", "弁当箱", "扇子"],
    joiner: "",
    number_prefix: "",
    number_base: 2_010_000_000,
    number_step: 100_000,
    number_width: 10,
};

static GERMANY: Catalog = Catalog {
    office_name: "DPMA, Germany",
    holders: &[
        RegisteredHolder {
            holder: &BERGQUELLE,
            stems: &["Bergquelle", "Alpenfrisch", "Gipfelglück"],
        },
        RegisteredHolder {
            holder: &SCHWARZWALD,
            stems: &["Schwarzwälder Zeit", "Kuckucksruf", "Tannenuhr"],
        },
        RegisteredHolder {
            holder: &SONNENHOF,
            stems: &["Sonnenhof", "Hofgold"],
        },
    ],
    product_words: &[
        "", "", "Natur", "Klassik", "Premium", "Gold", "Alpin", "Werk",
    ],
    design_objects: &["Uhrgehäuse", "Flasche", "Bierkrug", "Stuhl"],
    joiner: " ",
    number_prefix: "",
    number_base: 302_010_000_000,
    number_step: 100_000,
    number_width: 12,
};

static UNITED_KINGDOM: Catalog = Catalog {
    office_name: "UKIPO, United Kingdom",
    holders: &[
        RegisteredHolder {
            holder: &THAMES,
            stems: &["Thames & Co.", "Earl's Garden", "Riverside Blend"],
        },
        RegisteredHolder {
            holder: &HIGHLAND,
            stems: &["Highland Wool", "Glen Tartan", "Heather & Moss"],
        },
        RegisteredHolder {
            holder: &KESTREL,
            stems: &["KESTREL", "Hawkwind"],
        },
        RegisteredHolder {
            holder: &LIBERTY_COFFEE,
            stems: &["Liberty Coffee"],
        },
    ],
    product_words: &[
        "", "", "Heritage", "Royal", "Classic", "Select", "Reserve", "Original",
    ],
    design_objects: &["Teapot", "Bicycle frame", "Scarf pattern", "Biscuit tin"],
    joiner: " ",
    number_prefix: "UK0000",
    number_base: 3_000_000,
    number_step: 50_000,
    number_width: 7,
};

static GENERIC_HOLDERS: [RegisteredHolder; 4] = [
    RegisteredHolder {
        holder: &LUMIERE,
        stems: &["LUMIÈRE"],
    },
    RegisteredHolder {
        holder: &BLUE_RIDGE,
        stems: &["BLUE RIDGE", "Ridgeline"],
    },
    RegisteredHolder {
        holder: &HUAXING,
        stems: &["HUAXING", "StarNova"],
    },
    RegisteredHolder {
        holder: &BELLA_VITA,
        stems: &["Bella Vita", "Dolce Sera"],
    },
];

/// The catalogue of a jurisdiction's office: its own when there is one, the generic one
/// (foreign holders filing there) otherwise.
pub fn for_jurisdiction(code: &str) -> Catalog {
    match code {
        "FR" => FRANCE,
        "CN" => CHINA,
        "US" => UNITED_STATES,
        "EM" => EUROPEAN_UNION,
        "JP" => JAPAN,
        "DE" => GERMANY,
        "GB" => UNITED_KINGDOM,
        _ => generic(),
    }
}

/// The catalogue of an office without one of its own.
pub fn generic() -> Catalog {
    Catalog {
        office_name: "",
        holders: &GENERIC_HOLDERS,
        product_words: &["", "", "Classic", "Pro", "Select", "Gold", "Nova", "Prime"],
        design_objects: &["Bottle", "Chair", "Lamp", "Packaging"],
        joiner: " ",
        number_prefix: "",
        number_base: 1_000_000,
        number_step: 50_000,
        number_width: 7,
    }
}

/// The human name of the office for `code`, as written in the trust store.
pub fn office_name(code: &str) -> String {
    let catalog = for_jurisdiction(code);
    if catalog.office_name.is_empty() {
        format!("Office {code} (testnet)")
    } else {
        format!("{} (testnet)", catalog.office_name)
    }
}
