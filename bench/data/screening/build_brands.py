#!/usr/bin/env python3
"""Builds brands.tsv, the brands of the screening evaluation (issue 16), from the npm package
name-suggestion-index (NSI; BSD-3-Clause, see NOTICE.md): every brand of NSI's `brands/*`
categories with a Wikidata id, one line each: Wikidata id, name, Nice class (from the NSI
category), jurisdiction (the first country of its location set; worldwide brands get WO).

    npm pack name-suggestion-index@8.0.20260918 && tar xzf name-suggestion-index-*.tgz
    python3 bench/data/screening/build_brands.py package/dist/json/nsi.json > bench/data/screening/brands.tsv
"""
import json
import sys
import unicodedata

# NSI category (the part after brands/) → Nice class; anything else is a retail service (35).
CLASSES = {
    "shop/clothes": 25, "shop/shoes": 25, "shop/fashion": 25, "shop/boutique": 25,
    "shop/fashion_accessories": 25, "shop/sports": 28, "shop/toys": 28, "shop/bag": 18,
    "shop/leather": 18, "shop/jewelry": 14, "shop/watches": 14, "shop/cosmetics": 3,
    "shop/perfumery": 3, "shop/beauty": 3, "shop/chemist": 3, "shop/electronics": 9,
    "shop/mobile_phone": 9, "shop/computer": 9, "shop/optician": 9, "shop/telecommunication": 9,
    "shop/car": 12, "shop/tyres": 12, "shop/car_parts": 12, "shop/bicycle": 12,
    "shop/furniture": 20, "shop/bed": 20, "shop/houseware": 21, "shop/books": 16,
    "shop/stationery": 16, "shop/pet": 31, "shop/alcohol": 33, "shop/wine": 33,
    "shop/bakery": 30, "shop/confectionery": 30, "shop/pastry": 30, "amenity/ice_cream": 30,
    "shop/coffee": 30, "shop/tea": 30, "amenity/fast_food": 43, "amenity/restaurant": 43,
    "amenity/cafe": 43, "amenity/pub": 43, "amenity/bar": 43, "tourism/hotel": 43,
    "tourism/motel": 43, "amenity/bank": 36, "amenity/atm": 36, "office/insurance": 36,
    "amenity/bureau_de_change": 36, "shop/money_lender": 36, "office/estate_agent": 36,
    "amenity/fuel": 4, "amenity/charging_station": 4, "amenity/cinema": 41,
    "leisure/fitness_centre": 41, "shop/travel_agency": 39, "amenity/car_rental": 39,
    "amenity/bicycle_rental": 39, "shop/car_repair": 37, "amenity/car_wash": 37,
    "shop/hairdresser": 44, "amenity/pharmacy": 35, "healthcare/laboratory": 44,
}

def main(path):
    nsi = json.load(open(path, encoding="utf-8"))["nsi"]
    seen = set()
    rows = []
    for category, value in sorted(nsi.items()):
        if not category.startswith("brands/"):
            continue
        kind = category[len("brands/"):]
        nice = CLASSES.get(kind, 35)
        for item in value.get("items", []):
            tags = item.get("tags", {})
            qid = tags.get("brand:wikidata")
            name = tags.get("brand") or item.get("displayName")
            if not qid or not name:
                continue
            name = unicodedata.normalize("NFC", name).strip()
            if "\t" in name or "\n" in name or len(name) > 80:
                continue
            key = name.casefold()
            if key in seen:
                continue
            seen.add(key)
            include = item.get("locationSet", {}).get("include", [])
            country = next((c for c in include if isinstance(c, str) and len(c) == 2 and c.isalpha()), None)
            jurisdiction = country.upper() if country else "WO"
            if jurisdiction == "FX":
                jurisdiction = "FR"
            if jurisdiction == "UK":
                jurisdiction = "GB"
            rows.append((qid, name, nice, jurisdiction))
    print("# wikidata\tname\tnice_class\tjurisdiction  (from name-suggestion-index 8.0.20260918, BSD-3-Clause; see NOTICE.md)")
    for qid, name, nice, jurisdiction in rows:
        print(f"{qid}\t{name}\t{nice}\t{jurisdiction}")

if __name__ == "__main__":
    main(sys.argv[1])
