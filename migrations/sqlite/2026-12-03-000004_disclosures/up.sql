-- Disclosures: immutable, hash-chained per estate; a correction is a new disclosure that
-- supersedes the old one, which stays readable. Service contracts with their fee standards.

CREATE TABLE disclosures (
    id INTEGER PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    chain_seq BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('PUBLIC_INCOME_STATEMENT', 'SERVICE_CONTRACT', 'FEE_STANDARD', 'SERVICE_STANDARD', 'WORK_REPORT', 'MAINTENANCE_FUND_REPORT', 'ACCOUNT_STATEMENT', 'BALLOT_RESULT', 'DISTRIBUTION')),
    title TEXT NOT NULL,
    period TEXT,
    content TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    published_at TEXT NOT NULL,
    visible_until TEXT,
    published_by_role TEXT NOT NULL,
    published_by_subject BIGINT NOT NULL,
    supersedes_id BIGINT UNIQUE REFERENCES disclosures(id),
    UNIQUE (estate_id, chain_seq)
);
CREATE INDEX disclosures_estate_kind ON disclosures (estate_id, kind, period);

CREATE TABLE service_contracts (
    id INTEGER PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    company_id BIGINT NOT NULL REFERENCES property_companies(id),
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    service_standard TEXT NOT NULL,
    document_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    CHECK (ends_on > starts_on)
);
CREATE INDEX service_contracts_estate ON service_contracts (estate_id);

-- Fee per square metre per month, in fen, by house usage.
CREATE TABLE fee_standards (
    contract_id BIGINT NOT NULL REFERENCES service_contracts(id),
    usage TEXT NOT NULL CHECK (usage IN ('RESIDENTIAL', 'COMMERCIAL', 'PARKING', 'OTHER')),
    fen_per_m2_month BIGINT NOT NULL CHECK (fen_per_m2_month >= 0),
    PRIMARY KEY (contract_id, usage)
);
