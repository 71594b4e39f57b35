# Reference group-sequential designs and analyses for rct/evaluate/sequential.py.
# Re-run from the repository root:  Rscript tests/reference/evaluate/rpact_designs.R
# Writes rpact_designs.csv (critical values, cumulative alpha spent, stage levels per
# look) and rpact_analysis.csv (repeated confidence intervals and final stage-wise
# p-values).  rpact solves each critical value to an alpha tolerance (default 1e-8;
# 1e-10 here, the smallest it accepts), so looks whose alpha increment is tiny (< 1e-6)
# have less accurate critical values; the Python test compares those by alpha spent.
suppressPackageStartupMessages(library(rpact))

designs <- list(
  list(case = "OF_1s_4eq",   type = "asOF",  sided = 1, alpha = 0.025, rates = c(0.25, 0.5, 0.75, 1), gamma = NA),
  list(case = "OF_2s_4uneq", type = "asOF",  sided = 2, alpha = 0.05,  rates = c(0.3, 0.55, 0.8, 1),  gamma = NA),
  list(case = "OF_2s_20eq",  type = "asOF",  sided = 2, alpha = 0.05,  rates = (1:20) / 20,           gamma = NA),
  list(case = "P_1s_5eq",    type = "asP",   sided = 1, alpha = 0.025, rates = (1:5) / 5,             gamma = NA),
  list(case = "P_2s_3uneq",  type = "asP",   sided = 2, alpha = 0.05,  rates = c(0.2, 0.5, 1),        gamma = NA),
  list(case = "P_2s_20eq",   type = "asP",   sided = 2, alpha = 0.05,  rates = (1:20) / 20,           gamma = NA),
  list(case = "P_1s_12uneq", type = "asP",   sided = 1, alpha = 0.05,  rates = c(1, 2, 4, 5, 7, 8, 10, 13, 15, 17, 19, 21) / 21, gamma = NA),
  list(case = "KD2_1s_3",    type = "asKD",  sided = 1, alpha = 0.025, rates = c(0.2, 0.5, 1),        gamma = 2),
  list(case = "KD3_2s_6",    type = "asKD",  sided = 2, alpha = 0.05,  rates = (1:6) / 6,             gamma = 3),
  list(case = "HSDm4_1s_3",  type = "asHSD", sided = 1, alpha = 0.025, rates = c(0.2, 0.5, 1),        gamma = -4),
  list(case = "HSD1_2s_4",   type = "asHSD", sided = 2, alpha = 0.05,  rates = c(0.1, 0.4, 0.7, 1),   gamma = 1)
)

make <- function(x) {
  args <- list(typeOfDesign = x$type, informationRates = x$rates, alpha = x$alpha,
               sided = x$sided, tolerance = 1e-10)
  if (!is.na(x$gamma)) args$gammaA <- x$gamma
  do.call(getDesignGroupSequential, args)
}

rows <- list()
for (x in designs) {
  d <- make(x)
  rows[[x$case]] <- data.frame(case = x$case, type = x$type, sided = x$sided, alpha = x$alpha,
                               gamma = x$gamma, look = seq_along(x$rates), rate = x$rates,
                               critical = d$criticalValues, alpha_spent = d$alphaSpent,
                               stage_level = d$stageLevels)
}
write.csv(do.call(rbind, rows), "tests/reference/evaluate/rpact_designs.csv", row.names = FALSE)

# Analyses: a log-rank dataset gives the z statistic at each look directly; the log
# hazard ratio estimate is z * 2 / sqrt(events) with SE 2 / sqrt(events) (1:1 allocation).
analyses <- list(
  list(case = "A_OF_1s", design = designs[[1]], events = c(50, 100, 150), z = c(1.2, 2.1, 3.1)),
  list(case = "A_OF_1s_final", design = designs[[1]], events = c(50, 100, 150, 200), z = c(0.4, 1.1, 1.7, 2.2)),
  list(case = "A_P_2s", design = designs[[5]], events = c(40, 100, 200), z = c(-1.0, -2.45, -2.1)),
  list(case = "A_P_2s_final", design = designs[[5]], events = c(40, 100, 200), z = c(0.5, 1.9, 2.0))
)
arows <- list()
for (a in analyses) {
  d <- make(a$design)
  ds <- getDataset(overallEvents = a$events, overallLogRanks = a$z,
                   overallAllocationRatios = rep(1, length(a$z)))
  r <- suppressMessages(getAnalysisResults(d, ds, directionUpper = TRUE))
  k <- length(a$z)
  arows[[a$case]] <- data.frame(
    case = a$case, design = a$design$case, look = 1:k, events = a$events, z = a$z,
    rci_low_hr = r$repeatedConfidenceIntervalLowerBounds[1:k],
    rci_high_hr = r$repeatedConfidenceIntervalUpperBounds[1:k],
    final_stage = r$finalStage, final_p = r$finalPValues[1:k])
}
write.csv(do.call(rbind, arows), "tests/reference/evaluate/rpact_analysis.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("rpact", packageVersion("rpact"))),
           "tests/reference/evaluate/rpact_versions.txt")
