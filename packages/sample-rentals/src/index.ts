export { ensureRentalsDataset, generateRentals, rentalsPath, RENTALS_FILE_NAME } from './generate.js';
export { rentalsDataset, RENTALS_COLUMNS, RENTALS_SCHEMA_DOC } from './dataset.js';
export { PROPERTY_COUNT, WEEK_COUNT, FIRST_WEEK } from './sql.js';
export { MSAS } from './geography.js';
