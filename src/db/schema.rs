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

diesel::joinable!(subdistricts -> districts (district_id));
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
);
