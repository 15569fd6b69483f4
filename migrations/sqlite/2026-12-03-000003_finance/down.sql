DROP TABLE payouts;
DROP TABLE distributions;
DROP TABLE account_entries;
DROP TABLE accounts;
