/** The lines around the generated values table in a chart's README.md. */
export const readmeValuesBegin = '<!-- values:begin -->';
export const readmeValuesEnd = '<!-- values:end -->';
