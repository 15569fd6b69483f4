DROP TABLE fee_standards;
DROP TABLE service_contracts;
DROP TABLE disclosures;
