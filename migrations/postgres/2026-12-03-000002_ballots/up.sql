-- Ballots: one owners' assembly meeting with its items, the roll frozen at opening, votes in a
-- hash chain, and tallies kept in the same transaction as each vote. Nothing here is ever
-- deleted: a decision can be challenged in court for a year (SPC Art. 12).

CREATE TABLE ballots (
    id BIGSERIAL PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('DRAFT', 'PENDING_APPROVAL', 'APPROVED', 'REJECTED', 'OPEN', 'CLOSED', 'TALLIED', 'CANCELLED')),
    organizer_role TEXT NOT NULL,
    organizer_subject BIGINT NOT NULL,
    opens_at TIMESTAMP NOT NULL,
    closes_at TIMESTAMP NOT NULL,
    submitted_at TIMESTAMP,
    decided_at TIMESTAMP,
    decided_by BIGINT,
    rejection_reason TEXT,
    opened_at TIMESTAMP,
    closed_at TIMESTAMP,
    tallied_at TIMESTAMP,
    cancelled_at TIMESTAMP,
    -- Frozen at opening: the estate's non-voter rule and the roll's totals.
    nonvoter_rule TEXT,
    roll_area BIGINT,
    roll_voters BIGINT,
    -- Running figures, updated with each vote.
    votes_cast BIGINT NOT NULL DEFAULT 0,
    participating_area BIGINT NOT NULL DEFAULT 0,
    chain_head TEXT,
    integrity_error TEXT,
    created_at TIMESTAMP NOT NULL,
    CHECK (closes_at > opens_at)
);
CREATE INDEX ballots_estate ON ballots (estate_id, id);
CREATE INDEX ballots_state ON ballots (state, opens_at);

CREATE TABLE ballot_items (
    id BIGSERIAL PRIMARY KEY,
    ballot_id BIGINT NOT NULL REFERENCES ballots(id),
    position INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('MATTER', 'ELECTION', 'SELECTION')),
    title TEXT NOT NULL,
    matter_type TEXT NOT NULL,
    seats INTEGER,
    outcome TEXT,
    summary TEXT,
    UNIQUE (ballot_id, position)
);

CREATE TABLE ballot_options (
    id BIGSERIAL PRIMARY KEY,
    item_id BIGINT NOT NULL REFERENCES ballot_items(id),
    position INTEGER NOT NULL,
    label TEXT NOT NULL,
    owner_id BIGINT REFERENCES owners(id),
    company_id BIGINT REFERENCES property_companies(id),
    elected BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (item_id, position)
);

-- The roll: one row per voter (SPC Arts. 8-9), frozen when the ballot opens.
CREATE TABLE ballot_voters (
    id BIGSERIAL PRIMARY KEY,
    ballot_id BIGINT NOT NULL REFERENCES ballots(id),
    voter_key TEXT NOT NULL,
    area BIGINT NOT NULL,
    houses INTEGER NOT NULL,
    developer BOOLEAN NOT NULL,
    label TEXT NOT NULL,
    UNIQUE (ballot_id, voter_key)
);

CREATE TABLE ballot_voter_houses (
    ballot_id BIGINT NOT NULL REFERENCES ballots(id),
    house_id BIGINT NOT NULL REFERENCES houses(id),
    voter_id BIGINT NOT NULL REFERENCES ballot_voters(id),
    PRIMARY KEY (ballot_id, house_id)
);

CREATE TABLE ballot_voter_owners (
    ballot_id BIGINT NOT NULL REFERENCES ballots(id),
    owner_id BIGINT NOT NULL REFERENCES owners(id),
    voter_id BIGINT NOT NULL REFERENCES ballot_voters(id),
    PRIMARY KEY (ballot_id, owner_id, voter_id)
);

CREATE INDEX ballot_voter_owners_owner ON ballot_voter_owners (owner_id);

CREATE TABLE votes (
    id BIGSERIAL PRIMARY KEY,
    ballot_id BIGINT NOT NULL REFERENCES ballots(id),
    voter_id BIGINT NOT NULL REFERENCES ballot_voters(id),
    seq BIGINT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('ONLINE', 'PAPER')),
    cast_by_owner BIGINT REFERENCES owners(id),
    recorded_by_role TEXT,
    recorded_by_subject BIGINT,
    paper_serial TEXT,
    idempotency_key TEXT,
    choices TEXT NOT NULL,
    cast_at TIMESTAMP NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    -- One ballot per voter: a second one is a CONFLICT, never a second count.
    UNIQUE (ballot_id, voter_id),
    UNIQUE (ballot_id, seq),
    UNIQUE (ballot_id, paper_serial)
);

-- Per item and choice (AGREE, OPPOSE, ABSTAIN, FOLLOW_MAJORITY, or OPTION:<id>): running sums.
CREATE TABLE ballot_tallies (
    ballot_id BIGINT NOT NULL REFERENCES ballots(id),
    item_id BIGINT NOT NULL REFERENCES ballot_items(id),
    choice TEXT NOT NULL,
    area BIGINT NOT NULL DEFAULT 0,
    voters BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (item_id, choice)
);
CREATE INDEX ballot_tallies_ballot ON ballot_tallies (ballot_id);
