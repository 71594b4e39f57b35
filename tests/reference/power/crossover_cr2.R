# CR2 reference for rct.power.estimators.crossover_fe_poisson (vcov = "CR2") and for the
# quasi-Poisson rate ratio: reads the committed crossover_panel.csv / parallel_data.csv.
# Run: Rscript tests/reference/power/crossover_cr2.R > tests/reference/power/crossover_cr2.csv
suppressPackageStartupMessages(library(clubSandwich))
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
panel <- read.csv(file.path(here, "crossover_panel.csv"))
f0 <- glm(crimes ~ tasked + factor(hotspot), family = poisson, data = panel,
          control = glm.control(epsilon = 1e-13, maxit = 200))
fit <- glm(crimes ~ tasked + factor(hotspot), family = poisson, data = panel, start = coef(f0),
           control = glm.control(epsilon = 1e-300, maxit = 25))
ct <- coef_test(fit, vcov = vcovCR(fit, cluster = panel$hotspot, type = "CR2"),
                test = "Satterthwaite", coefs = "tasked")
par <- read.csv(file.path(here, "parallel_data.csv"))
q <- summary(glm(crimes ~ treated, family = quasipoisson, data = par,
                control = glm.control(epsilon = 1e-300, maxit = 60)))$coefficients
out <- data.frame(what = c("crossover_cr2", "rate_ratio_quasi"),
                  estimate = c(coef(fit)[["tasked"]], q["treated", "Estimate"]),
                  std_error = c(ct["tasked", "SE"], q["treated", "Std. Error"]),
                  df = c(ct["tasked", "df_Satt"], nrow(par) - 2),
                  p_value = c(ct["tasked", "p_Satt"], q["treated", "Pr(>|t|)"]))
write.csv(out, stdout(), row.names = FALSE)
