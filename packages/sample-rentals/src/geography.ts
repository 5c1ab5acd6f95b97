/**
 * Static reference data for the synthetic rentals dataset: 20 US metropolitan statistical areas,
 * a few principal cities in each (approximate centre coordinates and a representative ZIP code),
 * and the 1-bedroom asking rent and yearly rent growth the generator anchors each market on.
 * The numbers are plausible round figures, not measurements.
 */
export interface CityRow {
  city: string;
  lat: number;
  lon: number;
  /** A representative ZIP; generated properties use nearby ZIPs (same 3-digit prefix). */
  zip: number;
}

export interface MsaRow {
  msa: string;
  state: string;
  /** Typical 1-bedroom asking rent in USD at the start of the series. */
  rent1br: number;
  /** Yearly rent growth as a fraction (0.03 = 3 %/year). */
  growth: number;
  cities: readonly CityRow[];
}

export const MSAS: readonly MsaRow[] = [
  { msa: 'Seattle, WA', state: 'WA', rent1br: 2150, growth: 0.035, cities: [
    { city: 'Seattle', lat: 47.6062, lon: -122.3321, zip: 98101 },
    { city: 'Bellevue', lat: 47.6101, lon: -122.2015, zip: 98004 },
    { city: 'Tacoma', lat: 47.2529, lon: -122.4443, zip: 98402 },
    { city: 'Redmond', lat: 47.674, lon: -122.1215, zip: 98052 },
  ] },
  { msa: 'San Francisco, CA', state: 'CA', rent1br: 2900, growth: 0.015, cities: [
    { city: 'San Francisco', lat: 37.7749, lon: -122.4194, zip: 94103 },
    { city: 'Oakland', lat: 37.8044, lon: -122.2712, zip: 94607 },
    { city: 'Berkeley', lat: 37.8716, lon: -122.2727, zip: 94704 },
  ] },
  { msa: 'Los Angeles, CA', state: 'CA', rent1br: 2400, growth: 0.025, cities: [
    { city: 'Los Angeles', lat: 34.0522, lon: -118.2437, zip: 90012 },
    { city: 'Long Beach', lat: 33.7701, lon: -118.1937, zip: 90802 },
    { city: 'Anaheim', lat: 33.8366, lon: -117.9143, zip: 92805 },
    { city: 'Pasadena', lat: 34.1478, lon: -118.1445, zip: 91101 },
  ] },
  { msa: 'San Diego, CA', state: 'CA', rent1br: 2500, growth: 0.03, cities: [
    { city: 'San Diego', lat: 32.7157, lon: -117.1611, zip: 92101 },
    { city: 'Chula Vista', lat: 32.6401, lon: -117.0842, zip: 91910 },
    { city: 'Oceanside', lat: 33.1959, lon: -117.3795, zip: 92054 },
  ] },
  { msa: 'Phoenix, AZ', state: 'AZ', rent1br: 1350, growth: 0.01, cities: [
    { city: 'Phoenix', lat: 33.4484, lon: -112.074, zip: 85004 },
    { city: 'Scottsdale', lat: 33.4942, lon: -111.9261, zip: 85251 },
    { city: 'Tempe', lat: 33.4255, lon: -111.94, zip: 85281 },
    { city: 'Mesa', lat: 33.4152, lon: -111.8315, zip: 85201 },
  ] },
  { msa: 'Denver, CO', state: 'CO', rent1br: 1700, growth: 0.015, cities: [
    { city: 'Denver', lat: 39.7392, lon: -104.9903, zip: 80202 },
    { city: 'Aurora', lat: 39.7294, lon: -104.8319, zip: 80012 },
    { city: 'Lakewood', lat: 39.7047, lon: -105.0814, zip: 80226 },
  ] },
  { msa: 'Dallas, TX', state: 'TX', rent1br: 1450, growth: 0.015, cities: [
    { city: 'Dallas', lat: 32.7767, lon: -96.797, zip: 75201 },
    { city: 'Fort Worth', lat: 32.7555, lon: -97.3308, zip: 76102 },
    { city: 'Plano', lat: 33.0198, lon: -96.6989, zip: 75074 },
    { city: 'Irving', lat: 32.814, lon: -96.9489, zip: 75038 },
  ] },
  { msa: 'Houston, TX', state: 'TX', rent1br: 1250, growth: 0.02, cities: [
    { city: 'Houston', lat: 29.7604, lon: -95.3698, zip: 77002 },
    { city: 'The Woodlands', lat: 30.1658, lon: -95.4613, zip: 77380 },
    { city: 'Sugar Land', lat: 29.6197, lon: -95.6349, zip: 77478 },
  ] },
  { msa: 'Austin, TX', state: 'TX', rent1br: 1500, growth: -0.01, cities: [
    { city: 'Austin', lat: 30.2672, lon: -97.7431, zip: 78701 },
    { city: 'Round Rock', lat: 30.5083, lon: -97.6789, zip: 78664 },
    { city: 'San Marcos', lat: 29.8833, lon: -97.9414, zip: 78666 },
  ] },
  { msa: 'Chicago, IL', state: 'IL', rent1br: 1800, growth: 0.045, cities: [
    { city: 'Chicago', lat: 41.8781, lon: -87.6298, zip: 60601 },
    { city: 'Evanston', lat: 42.0451, lon: -87.6877, zip: 60201 },
    { city: 'Naperville', lat: 41.7508, lon: -88.1535, zip: 60540 },
  ] },
  { msa: 'Atlanta, GA', state: 'GA', rent1br: 1550, growth: 0.005, cities: [
    { city: 'Atlanta', lat: 33.749, lon: -84.388, zip: 30303 },
    { city: 'Marietta', lat: 33.9526, lon: -84.5499, zip: 30060 },
    { city: 'Decatur', lat: 33.7748, lon: -84.2963, zip: 30030 },
  ] },
  { msa: 'Miami, FL', state: 'FL', rent1br: 2350, growth: 0.03, cities: [
    { city: 'Miami', lat: 25.7617, lon: -80.1918, zip: 33130 },
    { city: 'Fort Lauderdale', lat: 26.1224, lon: -80.1373, zip: 33301 },
    { city: 'West Palm Beach', lat: 26.7153, lon: -80.0534, zip: 33401 },
  ] },
  { msa: 'Tampa, FL', state: 'FL', rent1br: 1650, growth: 0.01, cities: [
    { city: 'Tampa', lat: 27.9506, lon: -82.4572, zip: 33602 },
    { city: 'St. Petersburg', lat: 27.7676, lon: -82.6403, zip: 33701 },
    { city: 'Clearwater', lat: 27.9659, lon: -82.8001, zip: 33755 },
  ] },
  { msa: 'New York, NY', state: 'NY', rent1br: 3300, growth: 0.05, cities: [
    { city: 'New York', lat: 40.7128, lon: -74.006, zip: 10001 },
    { city: 'Brooklyn', lat: 40.6782, lon: -73.9442, zip: 11201 },
    { city: 'Jersey City', lat: 40.7178, lon: -74.0431, zip: 7302 },
    { city: 'Yonkers', lat: 40.9312, lon: -73.8988, zip: 10701 },
  ] },
  { msa: 'Boston, MA', state: 'MA', rent1br: 2800, growth: 0.04, cities: [
    { city: 'Boston', lat: 42.3601, lon: -71.0589, zip: 2108 },
    { city: 'Cambridge', lat: 42.3736, lon: -71.1097, zip: 2139 },
    { city: 'Quincy', lat: 42.2529, lon: -71.0023, zip: 2169 },
  ] },
  { msa: 'Washington, DC', state: 'DC', rent1br: 2200, growth: 0.035, cities: [
    { city: 'Washington', lat: 38.9072, lon: -77.0369, zip: 20001 },
    { city: 'Arlington', lat: 38.8816, lon: -77.091, zip: 22201 },
    { city: 'Silver Spring', lat: 38.9907, lon: -77.0261, zip: 20910 },
  ] },
  { msa: 'Philadelphia, PA', state: 'PA', rent1br: 1650, growth: 0.035, cities: [
    { city: 'Philadelphia', lat: 39.9526, lon: -75.1652, zip: 19103 },
    { city: 'Camden', lat: 39.9259, lon: -75.1196, zip: 8102 },
    { city: 'King of Prussia', lat: 40.0893, lon: -75.3963, zip: 19406 },
  ] },
  { msa: 'Minneapolis, MN', state: 'MN', rent1br: 1450, growth: 0.025, cities: [
    { city: 'Minneapolis', lat: 44.9778, lon: -93.265, zip: 55401 },
    { city: 'St. Paul', lat: 44.9537, lon: -93.09, zip: 55101 },
    { city: 'Bloomington', lat: 44.8408, lon: -93.2983, zip: 55420 },
  ] },
  { msa: 'Nashville, TN', state: 'TN', rent1br: 1600, growth: 0.0, cities: [
    { city: 'Nashville', lat: 36.1627, lon: -86.7816, zip: 37203 },
    { city: 'Franklin', lat: 35.9251, lon: -86.8689, zip: 37064 },
    { city: 'Murfreesboro', lat: 35.8456, lon: -86.3903, zip: 37130 },
  ] },
  { msa: 'Portland, OR', state: 'OR', rent1br: 1600, growth: 0.02, cities: [
    { city: 'Portland', lat: 45.5152, lon: -122.6784, zip: 97204 },
    { city: 'Beaverton', lat: 45.4871, lon: -122.8037, zip: 97005 },
    { city: 'Vancouver', lat: 45.6387, lon: -122.6615, zip: 98660 },
  ] },
];

/**
 * Unit-type mixes per building type: every property offers exactly four unit types.
 * `sqft` is the typical size; `factor` scales the market's 1-bedroom rent for that unit type.
 */
export interface UnitTypeRow {
  buildingType: string;
  slot: number;
  bed: number;
  bath: number;
  sqft: number;
  factor: number;
}

const mix = (buildingType: string, units: ReadonlyArray<[bed: number, bath: number, sqft: number, factor: number]>): UnitTypeRow[] =>
  units.map(([bed, bath, sqft, factor], slot) => ({ buildingType, slot, bed, bath, sqft, factor }));

export const UNIT_TYPES: readonly UnitTypeRow[] = [
  ...mix('High-rise', [[0, 1, 480, 0.82], [1, 1, 690, 1.0], [2, 2, 1080, 1.42], [3, 2, 1350, 1.85]]),
  ...mix('Mid-rise', [[0, 1, 520, 0.8], [1, 1, 720, 1.0], [2, 1, 930, 1.25], [2, 2, 1050, 1.36]]),
  ...mix('Garden', [[1, 1, 750, 0.95], [2, 1, 960, 1.2], [2, 2, 1100, 1.32], [3, 2, 1300, 1.6]]),
  ...mix('Townhome', [[2, 1.5, 1150, 1.38], [3, 2, 1450, 1.7], [3, 2.5, 1600, 1.82], [4, 3, 1950, 2.15]]),
];

/** Street names used to build addresses (number + name + suffix). */
export const STREETS: readonly string[] = [
  'Main', 'Oak', 'Pine', 'Maple', 'Cedar', 'Elm', 'Washington', 'Lake', 'Hill', 'Park',
  'Sunset', 'Lincoln', 'Jackson', 'Madison', 'Franklin', 'Highland', 'Union', 'Market', 'Broadway', 'Center',
  'Church', 'River', 'Spring', 'Walnut', 'Chestnut', 'Willow', 'Jefferson', 'Adams', 'Meadow', 'Ridge',
  'Harbor', 'Forest', 'Valley', 'Grand', 'Mill', 'College', 'Cherry', 'Birch', 'Sycamore', 'Magnolia',
];
export const SUFFIXES: readonly string[] = ['St', 'Ave', 'Blvd', 'Rd', 'Way', 'Dr', 'Ln', 'Pl', 'Ct', 'Pkwy'];
