-- Money: accounts, their entries (never edited or deleted: a correction is a reversing entry),
-- and distributions of public income with their payouts. Amounts are integer fen.

CREATE TABLE accounts (
    id BIGSERIAL PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    kind TEXT NOT NULL CHECK (kind IN ('COMMON_FUND', 'MAINTENANCE_FUND', 'PUBLIC_INCOME_LEDGER')),
    name TEXT NOT NULL,
    bank TEXT,
    account_number_masked TEXT,
    opened_on DATE,
    agreement_ref TEXT,
    assembly_code TEXT,
    holder_company_id BIGINT REFERENCES property_companies(id),
    balance_fen BIGINT NOT NULL DEFAULT 0,
    entry_count BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (estate_id, kind)
);

CREATE TABLE account_entries (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    seq BIGINT NOT NULL,
    booked_on DATE NOT NULL,
    reference TEXT,
    counterparty TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    balance_fen BIGINT NOT NULL,
    memo TEXT NOT NULL,
    category TEXT,
    period TEXT,
    source TEXT NOT NULL CHECK (source IN ('BANK_IMPORT', 'MANUAL', 'REVERSAL', 'DISTRIBUTION')),
    reverses_entry_id BIGINT REFERENCES account_entries(id),
    reason TEXT,
    recorded_by_role TEXT NOT NULL,
    recorded_by_subject BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (account_id, seq),
    -- The bank's transaction reference makes imports idempotent.
    UNIQUE (account_id, reference),
    -- An entry is reversed at most once.
    UNIQUE (reverses_entry_id)
);
CREATE INDEX account_entries_account ON account_entries (account_id, id);

CREATE TABLE distributions (
    id BIGSERIAL PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    ballot_item_id BIGINT NOT NULL UNIQUE REFERENCES ballot_items(id),
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    method TEXT NOT NULL CHECK (method IN ('BY_AREA', 'PER_HOUSEHOLD')),
    total_fen BIGINT NOT NULL CHECK (total_fen > 0),
    households BIGINT NOT NULL,
    entry_id BIGINT NOT NULL REFERENCES account_entries(id),
    created_by BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE payouts (
    distribution_id BIGINT NOT NULL REFERENCES distributions(id),
    house_id BIGINT NOT NULL REFERENCES houses(id),
    amount_fen BIGINT NOT NULL,
    PRIMARY KEY (distribution_id, house_id)
);
