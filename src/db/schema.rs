//! Diesel table definitions shared by both backends. Written by hand (not `diesel print-schema`)
//! because both migration sets must map onto these same types: BigInt ids, Timestamp as naive
//! UTC, areas in integer hundredths of a square metre.

diesel::table! {
    districts (id) {
        id -> BigInt,
        name -> Text,
    }
}

diesel::table! {
    subdistricts (id) {
        id -> BigInt,
        district_id -> BigInt,
        name -> Text,
    }
}

diesel::table! {
    communities (id) {
        id -> BigInt,
        subdistrict_id -> BigInt,
        name -> Text,
    }
}

diesel::table! {
    estates (id) {
        id -> BigInt,
        community_id -> BigInt,
        subdistrict_id -> BigInt,
        district_id -> BigInt,
        name -> Text,
        address -> Text,
        notice_days -> Integer,
        nonvoter_rule -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    buildings (id) {
        id -> BigInt,
        estate_id -> BigInt,
        label -> Text,
        floors -> Integer,
    }
}

diesel::table! {
    houses (id) {
        id -> BigInt,
        estate_id -> BigInt,
        building_id -> BigInt,
        unit_label -> Text,
        room_label -> Text,
        floor -> Integer,
        usage -> Text,
        area_centi -> BigInt,
        area_source -> Text,
        certificate_number -> Nullable<Text>,
        developer_held -> Bool,
    }
}

diesel::table! {
    owners (id) {
        id -> BigInt,
        name -> Text,
        kind -> Text,
        id_number_hash -> Nullable<Text>,
        phone_hash -> Nullable<Text>,
        verification_status -> Text,
        verified_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ownerships (id) {
        id -> BigInt,
        house_id -> BigInt,
        owner_id -> BigInt,
        since -> Timestamp,
        until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    property_companies (id) {
        id -> BigInt,
        name -> Text,
        credit_code -> Text,
    }
}

diesel::table! {
    estate_managements (id) {
        id -> BigInt,
        estate_id -> BigInt,
        company_id -> BigInt,
        since -> Timestamp,
        until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    committees (id) {
        id -> BigInt,
        estate_id -> BigInt,
        assembly_code -> Text,
        term_start -> Date,
        term_end -> Date,
    }
}

diesel::table! {
    committee_members (id) {
        id -> BigInt,
        committee_id -> BigInt,
        owner_id -> BigInt,
        position -> Text,
    }
}

diesel::table! {
    staff (id) {
        id -> BigInt,
        name -> Text,
        role -> Text,
        company_id -> Nullable<BigInt>,
        community_id -> Nullable<BigInt>,
        subdistrict_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    estate_stats (estate_id) {
        estate_id -> BigInt,
        households -> BigInt,
        houses -> BigInt,
        area_centi -> BigInt,
        owners -> BigInt,
        registered_owners -> BigInt,
        registered_houses -> BigInt,
        registration_ppm -> BigInt,
    }
}

diesel::table! {
    accounts (id) {
        id -> BigInt,
        estate_id -> BigInt,
        kind -> Text,
        name -> Text,
        bank -> Nullable<Text>,
        account_number_masked -> Nullable<Text>,
        opened_on -> Nullable<Date>,
        agreement_ref -> Nullable<Text>,
        assembly_code -> Nullable<Text>,
        holder_company_id -> Nullable<BigInt>,
        balance_fen -> BigInt,
        entry_count -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    account_entries (id) {
        id -> BigInt,
        account_id -> BigInt,
        seq -> BigInt,
        booked_on -> Date,
        reference -> Nullable<Text>,
        counterparty -> Text,
        amount_fen -> BigInt,
        balance_fen -> BigInt,
        memo -> Text,
        category -> Nullable<Text>,
        period -> Nullable<Text>,
        source -> Text,
        reverses_entry_id -> Nullable<BigInt>,
        reason -> Nullable<Text>,
        recorded_by_role -> Text,
        recorded_by_subject -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    distributions (id) {
        id -> BigInt,
        estate_id -> BigInt,
        ballot_item_id -> BigInt,
        account_id -> BigInt,
        method -> Text,
        total_fen -> BigInt,
        households -> BigInt,
        entry_id -> BigInt,
        created_by -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    payouts (distribution_id, house_id) {
        distribution_id -> BigInt,
        house_id -> BigInt,
        amount_fen -> BigInt,
    }
}

diesel::table! {
    disclosures (id) {
        id -> BigInt,
        estate_id -> BigInt,
        chain_seq -> BigInt,
        kind -> Text,
        title -> Text,
        period -> Nullable<Text>,
        content -> Text,
        content_hash -> Text,
        prev_hash -> Text,
        hash -> Text,
        published_at -> Timestamp,
        visible_until -> Nullable<Timestamp>,
        published_by_role -> Text,
        published_by_subject -> BigInt,
        supersedes_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    service_contracts (id) {
        id -> BigInt,
        estate_id -> BigInt,
        company_id -> BigInt,
        starts_on -> Date,
        ends_on -> Date,
        service_standard -> Text,
        document_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    fee_standards (contract_id, usage) {
        contract_id -> BigInt,
        usage -> Text,
        fen_per_m2_month -> BigInt,
    }
}

diesel::joinable!(subdistricts -> districts (district_id));
diesel::joinable!(account_entries -> accounts (account_id));
diesel::joinable!(accounts -> estates (estate_id));
diesel::joinable!(communities -> subdistricts (subdistrict_id));
diesel::joinable!(estates -> communities (community_id));
diesel::joinable!(buildings -> estates (estate_id));
diesel::joinable!(houses -> buildings (building_id));
diesel::joinable!(ownerships -> houses (house_id));
diesel::joinable!(ownerships -> owners (owner_id));
diesel::joinable!(estate_stats -> estates (estate_id));
diesel::joinable!(committee_members -> committees (committee_id));
diesel::joinable!(committee_members -> owners (owner_id));

diesel::allow_tables_to_appear_in_same_query!(
    districts,
    subdistricts,
    communities,
    estates,
    buildings,
    houses,
    owners,
    ownerships,
    property_companies,
    estate_managements,
    committees,
    committee_members,
    staff,
    estate_stats,
    ballots,
    ballot_items,
    ballot_options,
    ballot_voters,
    ballot_voter_houses,
    ballot_voter_owners,
    votes,
    ballot_tallies,
    accounts,
    account_entries,
    distributions,
    payouts,
    disclosures,
    service_contracts,
    fee_standards,
);

diesel::table! {
    ballots (id) {
        id -> BigInt,
        estate_id -> BigInt,
        title -> Text,
        description -> Text,
        state -> Text,
        organizer_role -> Text,
        organizer_subject -> BigInt,
        opens_at -> Timestamp,
        closes_at -> Timestamp,
        submitted_at -> Nullable<Timestamp>,
        decided_at -> Nullable<Timestamp>,
        decided_by -> Nullable<BigInt>,
        rejection_reason -> Nullable<Text>,
        opened_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        tallied_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
        nonvoter_rule -> Nullable<Text>,
        roll_area -> Nullable<BigInt>,
        roll_voters -> Nullable<BigInt>,
        votes_cast -> BigInt,
        participating_area -> BigInt,
        chain_head -> Nullable<Text>,
        integrity_error -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ballot_items (id) {
        id -> BigInt,
        ballot_id -> BigInt,
        position -> Integer,
        kind -> Text,
        title -> Text,
        matter_type -> Text,
        seats -> Nullable<Integer>,
        outcome -> Nullable<Text>,
        summary -> Nullable<Text>,
    }
}

diesel::table! {
    ballot_options (id) {
        id -> BigInt,
        item_id -> BigInt,
        position -> Integer,
        label -> Text,
        owner_id -> Nullable<BigInt>,
        company_id -> Nullable<BigInt>,
        elected -> Bool,
    }
}

diesel::table! {
    ballot_voters (id) {
        id -> BigInt,
        ballot_id -> BigInt,
        voter_key -> Text,
        area -> BigInt,
        houses -> Integer,
        developer -> Bool,
        label -> Text,
    }
}

diesel::table! {
    ballot_voter_houses (ballot_id, house_id) {
        ballot_id -> BigInt,
        house_id -> BigInt,
        voter_id -> BigInt,
    }
}

diesel::table! {
    ballot_voter_owners (ballot_id, owner_id, voter_id) {
        ballot_id -> BigInt,
        owner_id -> BigInt,
        voter_id -> BigInt,
    }
}

diesel::table! {
    votes (id) {
        id -> BigInt,
        ballot_id -> BigInt,
        voter_id -> BigInt,
        seq -> BigInt,
        channel -> Text,
        cast_by_owner -> Nullable<BigInt>,
        recorded_by_role -> Nullable<Text>,
        recorded_by_subject -> Nullable<BigInt>,
        paper_serial -> Nullable<Text>,
        idempotency_key -> Nullable<Text>,
        choices -> Text,
        cast_at -> Timestamp,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    ballot_tallies (item_id, choice) {
        ballot_id -> BigInt,
        item_id -> BigInt,
        choice -> Text,
        area -> BigInt,
        voters -> BigInt,
    }
}

diesel::joinable!(ballot_items -> ballots (ballot_id));
diesel::joinable!(ballot_options -> ballot_items (item_id));
diesel::joinable!(ballot_voters -> ballots (ballot_id));
diesel::joinable!(votes -> ballot_voters (voter_id));
diesel::joinable!(ballot_voter_houses -> houses (house_id));
