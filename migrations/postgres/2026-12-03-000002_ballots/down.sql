DROP TABLE ballot_tallies;
DROP TABLE votes;
DROP TABLE ballot_voter_owners;
DROP TABLE ballot_voter_houses;
DROP TABLE ballot_voters;
DROP TABLE ballot_options;
DROP TABLE ballot_items;
DROP TABLE ballots;
