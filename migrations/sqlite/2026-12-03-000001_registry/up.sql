-- The estate registry: the administrative chain, estates, buildings, houses, owners and who
-- governs and manages each estate. Areas are stored as integer hundredths of a square metre,
-- times as UTC without zone (the application truncates to microseconds).

CREATE TABLE districts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE subdistricts (
    id INTEGER PRIMARY KEY,
    district_id BIGINT NOT NULL REFERENCES districts(id),
    name TEXT NOT NULL,
    UNIQUE (district_id, name)
);

CREATE TABLE communities (
    id INTEGER PRIMARY KEY,
    subdistrict_id BIGINT NOT NULL REFERENCES subdistricts(id),
    name TEXT NOT NULL,
    UNIQUE (subdistrict_id, name)
);

-- district_id and subdistrict_id repeat the chain so that filters and scopes are one index away.
CREATE TABLE estates (
    id INTEGER PRIMARY KEY,
    community_id BIGINT NOT NULL REFERENCES communities(id),
    subdistrict_id BIGINT NOT NULL REFERENCES subdistricts(id),
    district_id BIGINT NOT NULL REFERENCES districts(id),
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    notice_days INTEGER NOT NULL DEFAULT 15 CHECK (notice_days BETWEEN 0 AND 365),
    nonvoter_rule TEXT NOT NULL DEFAULT 'NONE'
        CHECK (nonvoter_rule IN ('NONE', 'FOLLOW_MAJORITY_CHOICE', 'NONVOTERS_FOLLOW_MAJORITY')),
    created_at TEXT NOT NULL
);
CREATE INDEX estates_community ON estates (community_id);
CREATE INDEX estates_subdistrict ON estates (subdistrict_id);
CREATE INDEX estates_district ON estates (district_id);
CREATE INDEX estates_name ON estates (name, id);

CREATE TABLE buildings (
    id INTEGER PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    label TEXT NOT NULL,
    floors INTEGER NOT NULL CHECK (floors > 0),
    UNIQUE (estate_id, label)
);

CREATE TABLE houses (
    id INTEGER PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    building_id BIGINT NOT NULL REFERENCES buildings(id),
    unit_label TEXT NOT NULL,
    room_label TEXT NOT NULL,
    floor INTEGER NOT NULL,
    usage TEXT NOT NULL CHECK (usage IN ('RESIDENTIAL', 'COMMERCIAL', 'PARKING', 'OTHER')),
    area_centi BIGINT NOT NULL CHECK (area_centi > 0),
    area_source TEXT NOT NULL CHECK (area_source IN ('REGISTERED', 'SURVEYED', 'CONTRACT')),
    certificate_number TEXT,
    developer_held BOOLEAN NOT NULL DEFAULT 0,
    UNIQUE (building_id, unit_label, room_label)
);
CREATE INDEX houses_estate ON houses (estate_id, id);

CREATE TABLE owners (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('PERSON', 'DEVELOPER', 'ORGANIZATION')),
    id_number_hash TEXT UNIQUE,
    phone_hash TEXT,
    verification_status TEXT NOT NULL DEFAULT 'UNVERIFIED'
        CHECK (verification_status IN ('UNVERIFIED', 'VERIFIED', 'REJECTED')),
    verified_at TEXT,
    created_at TEXT NOT NULL
);

-- Ownership history: a row per owner per house, closed by `until` when the house changes hands.
CREATE TABLE ownerships (
    id INTEGER PRIMARY KEY,
    house_id BIGINT NOT NULL REFERENCES houses(id),
    owner_id BIGINT NOT NULL REFERENCES owners(id),
    since TEXT NOT NULL,
    until TEXT,
    CHECK (until IS NULL OR until > since)
);
CREATE INDEX ownerships_house ON ownerships (house_id);
CREATE INDEX ownerships_owner ON ownerships (owner_id);

CREATE TABLE property_companies (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    credit_code TEXT NOT NULL UNIQUE CHECK (length(credit_code) = 18)
);

CREATE TABLE estate_managements (
    id INTEGER PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    company_id BIGINT NOT NULL REFERENCES property_companies(id),
    since TEXT NOT NULL,
    until TEXT
);
CREATE INDEX estate_managements_estate ON estate_managements (estate_id);
CREATE INDEX estate_managements_company ON estate_managements (company_id);

CREATE TABLE committees (
    id INTEGER PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    assembly_code TEXT NOT NULL,
    term_start TEXT NOT NULL,
    term_end TEXT NOT NULL,
    CHECK (term_end > term_start)
);
CREATE INDEX committees_estate ON committees (estate_id);

CREATE TABLE committee_members (
    id INTEGER PRIMARY KEY,
    committee_id BIGINT NOT NULL REFERENCES committees(id),
    owner_id BIGINT NOT NULL REFERENCES owners(id),
    position TEXT NOT NULL CHECK (position IN ('CHAIR', 'VICE_CHAIR', 'MEMBER', 'ALTERNATE')),
    UNIQUE (committee_id, owner_id)
);
CREATE INDEX committee_members_owner ON committee_members (owner_id);

-- Accounts of people who act for an organisation; the column that matters depends on the role.
CREATE TABLE staff (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('PROPERTY_MANAGER', 'COMMUNITY_STAFF', 'SUBDISTRICT_OFFICER', 'CITY_ADMIN', 'ANALYST')),
    company_id BIGINT REFERENCES property_companies(id),
    community_id BIGINT REFERENCES communities(id),
    subdistrict_id BIGINT REFERENCES subdistricts(id),
    created_at TEXT NOT NULL
);

-- Running totals per estate, refreshed by every write to the register, so that dashboards can
-- sort and page estates by households or registration rate without aggregating houses per request.
CREATE TABLE estate_stats (
    estate_id BIGINT PRIMARY KEY REFERENCES estates(id),
    households BIGINT NOT NULL,
    houses BIGINT NOT NULL,
    area_centi BIGINT NOT NULL,
    owners BIGINT NOT NULL,
    registered_owners BIGINT NOT NULL,
    registered_houses BIGINT NOT NULL,
    -- registered_houses / houses in parts per million, rounded down: a sort key only; the exact
    -- figures above are what is shown.
    registration_ppm BIGINT NOT NULL
);
CREATE INDEX estate_stats_households ON estate_stats (households, estate_id);
CREATE INDEX estate_stats_registration ON estate_stats (registration_ppm, estate_id);
